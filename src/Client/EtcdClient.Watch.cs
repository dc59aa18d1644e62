using System.Runtime.CompilerServices;
using Mvccpb;

namespace Cairn.Client;

public sealed partial class EtcdClient
{
    /// <summary>
    /// Watches a key or range. The enumeration yields whole responses (<see cref="WatchBatch"/>) in
    /// revision order; across member failures it delivers exactly the committed history of the
    /// key set from the start revision on: no event twice, none missing. It ends with
    /// <see cref="WatchCompactedException"/> when the history it needs was compacted, with
    /// <see cref="EtcdException"/> when the server refuses the watch, normally when the client is
    /// disposed, and with <see cref="OperationCanceledException"/> when
    /// <paramref name="cancellationToken"/> fires. Leaving the loop (cancel, break, dispose) cancels
    /// the server-side watch with a WatchCancelRequest.
    /// <para>Each watch buffers at most <see cref="EtcdClientOptions.WatchQueueCapacity"/> batches for
    /// a slow consumer; beyond that it pauses on the server and later resumes where it stopped.</para>
    /// </summary>
    /// <param name="range">A key (a string converts), <see cref="KeyRange.Prefix(string)"/>, <see cref="KeyRange.FromKey(string)"/>, <see cref="KeyRange.Between(string, string)"/>.</param>
    /// <param name="options">Start revision, prev_kv, filters, progress notify, fragment, require-leader.</param>
    /// <param name="cancellationToken">Ends the watch.</param>
    public async IAsyncEnumerable<WatchBatch> Watch(KeyRange range, WatchOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        var watcher = new Watcher(range, options ?? new WatchOptions(), Options.WatchQueueCapacity);
        var hub = watcher.Options.RequireLeader ? _leaderWatchHub : _watchHub;
        await hub.AddAsync(watcher, cancellationToken).ConfigureAwait(false);
        try
        {
            while (true)
            {
                if (!await watcher.Output.WaitOrThrowAsync(cancellationToken).ConfigureAwait(false))
                {
                    yield break;
                }
                while (watcher.Output.TryRead(out var batch))
                {
                    if (watcher.TryClaimResume())
                    {
                        await hub.ResumeAsync(watcher).ConfigureAwait(false);
                    }
                    yield return batch;
                }
            }
        }
        finally
        {
            await hub.RemoveAsync(watcher).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// <see cref="Watch(KeyRange, WatchOptions?, CancellationToken)"/> flattened to single events
    /// (progress and created notifications are skipped).
    /// </summary>
    public async IAsyncEnumerable<Event> WatchEvents(KeyRange range, WatchOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var batch in Watch(range, options, cancellationToken).ConfigureAwait(false))
        {
            foreach (var e in batch.Events)
            {
                yield return e;
            }
        }
    }

    /// <summary>Watch streams opened so far (the first ones plus one per resume after a failure); a diagnostic.</summary>
    public int WatchStreamsOpened => _watchHub.SessionsOpened + _leaderWatchHub.SessionsOpened;
}
