using Cairn.Mvcc;
using Etcdserverpb;
using Mvccpb;

namespace Cairn.Watch;

/// <summary>What a queued item of a stream is.</summary>
internal enum WatchItemKind : byte
{
    /// <summary>Events of one or more whole revisions for one watcher.</summary>
    Events,
    /// <summary>An empty progress response for one watcher (progress_notify).</summary>
    Progress,
    /// <summary>The watcher's history was compacted: cancel it with compact_revision.</summary>
    Compacted,
    /// <summary>A ready response (created, canceled, stream-wide progress).</summary>
    Control,
}

/// <summary>One entry of a stream's send queue. Events are shared, never mutated.</summary>
internal readonly record struct WatchItem(
    WatchItemKind Kind,
    Watcher? Watcher,
    IReadOnlyList<Event>? Events,
    long Revision,
    WatchResponse? Control = null,
    bool ReleasesSlot = false)
{
    internal int EventCount => Events?.Count ?? 0;
}

/// <summary>
/// The receiving end of a watch stream, as seen by the store. The store calls these under its
/// lock, so they must not block.
/// </summary>
internal abstract class WatchSink
{
    /// <summary>Watchers of this sink not in the synced group (guarded by the store lock).</summary>
    internal int NotSyncedCount;

    /// <summary>Synced watchers of this sink whose start revision is still in the future (store lock).</summary>
    internal int FutureCount;

    /// <summary>A stream-wide progress request waits for every watcher to be synced (store lock).</summary>
    internal bool DeferredProgress;

    /// <summary>Queues an item counted against the stream's bounded buffer; false when full.</summary>
    internal abstract bool TrySend(in WatchItem item);

    /// <summary>Queues the stream-wide progress response (watch_id -1) at <paramref name="revision"/>; never refused.</summary>
    internal abstract void SendProgressAll(long revision);
}

/// <summary>The part of the key-value store the watchable store reads (a seam for tests).</summary>
internal interface IEventSource
{
    long Revision { get; }
    long CompactRevision { get; }
    long ReadEvents(long fromRevision, long toRevision, int maxEvents, List<Event> into);
    KeyValue? Get(ReadOnlySpan<byte> key, long revision);
}

/// <summary><see cref="IEventSource"/> over the real store.</summary>
internal sealed class KvStoreEventSource(KvStore store) : IEventSource
{
    public long Revision => store.Revision;
    public long CompactRevision => store.CompactRevision;
    public long ReadEvents(long fromRevision, long toRevision, int maxEvents, List<Event> into) => store.ReadEvents(fromRevision, toRevision, maxEvents, into);
    public KeyValue? Get(ReadOnlySpan<byte> key, long revision) => store.Get(key, revision);
}
