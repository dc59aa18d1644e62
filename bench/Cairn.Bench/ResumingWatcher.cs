using System.Diagnostics;
using Cairn.Grpc.Client;
using Cairn.Protocol;
using Etcdserverpb;
using Google.Protobuf;

namespace Cairn.Bench;

/// <summary>
/// One prefix watch that survives the loss of its member as etcd's clientv3 does: when the stream
/// breaks it moves to the next endpoint and re-creates the watch from the last delivered revision + 1.
/// Records every delivered revision and the moments the watch-resume workload measures (Stopwatch
/// timestamps). Written by its own reader task; read by others through the volatile accessors, and
/// wholly once <see cref="RunAsync"/> has ended.
/// </summary>
internal sealed class ResumingWatcher
{
    private readonly IReadOnlyList<GrpcChannel> _channels;
    private readonly ByteString _key;
    private readonly ByteString _rangeEnd;
    private readonly TaskCompletionSource _created = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<long> _revisions = new(1024);
    private int _endpoint;
    private long _lastRevision;
    private long _lastEventAt;
    private long _breakAt;
    private long _lastBeforeBreakAt;
    private long _firstAfterResumeAt;
    private int _eventsAfterResume;
    private int _delivered;
    private long _committedAtKill = long.MaxValue;
    private long _firstRevisionAfterResume;
    private long _firstFreshAt;
    private long _termAtStart;
    private long _firstTermAfterResume;

    /// <param name="channels">One channel per endpoint, in endpoint order.</param>
    /// <param name="endpoint">The endpoint the watch starts on.</param>
    /// <param name="key">The prefix.</param>
    /// <param name="rangeEnd">The prefix's range end.</param>
    /// <param name="fromRevision">The first revision to deliver (above the store's revision when the watch starts).</param>
    public ResumingWatcher(IReadOnlyList<GrpcChannel> channels, int endpoint, ByteString key, ByteString rangeEnd, long fromRevision)
    {
        _channels = channels;
        _endpoint = endpoint;
        _key = key;
        _rangeEnd = rangeEnd;
        _lastRevision = fromRevision - 1;
    }

    /// <summary>Completes when the first watch is created (the writer must not start before).</summary>
    public Task Created => _created.Task;

    /// <summary>Revisions delivered, in delivery order (read after <see cref="RunAsync"/> ended).</summary>
    public IReadOnlyList<long> Revisions => _revisions;

    /// <summary>The last delivered revision (the one before the first to deliver until an event arrives).</summary>
    public long LastRevision => Volatile.Read(ref _lastRevision);

    /// <summary>When the first stream break was detected, or 0.</summary>
    public long BreakAt => Volatile.Read(ref _breakAt);

    /// <summary>When the last event before the break arrived, or 0.</summary>
    public long LastBeforeBreakAt => Volatile.Read(ref _lastBeforeBreakAt);

    /// <summary>When the first event on a stream opened after the break arrived, or 0.</summary>
    public long FirstAfterResumeAt => Volatile.Read(ref _firstAfterResumeAt);

    /// <summary>
    /// The highest revision known committed when the member was killed (set just before the kill):
    /// events above it on a resumed stream are fresh, not a backlog replayed from before the kill.
    /// </summary>
    public long CommittedAtKill
    {
        get => Volatile.Read(ref _committedAtKill);
        set => Volatile.Write(ref _committedAtKill, value);
    }

    /// <summary>The revision of the first event on a stream opened after the break, or 0.</summary>
    public long FirstRevisionAfterResume => Volatile.Read(ref _firstRevisionAfterResume);

    /// <summary>When the first event above <see cref="CommittedAtKill"/> arrived on a resumed stream, or 0.</summary>
    public long FirstFreshAt => Volatile.Read(ref _firstFreshAt);

    /// <summary>The Raft term in the header of the first watch's creation.</summary>
    public long TermAtStart => Volatile.Read(ref _termAtStart);

    /// <summary>The Raft term in the header of the first response with events after the break, or 0.</summary>
    public long FirstTermAfterResume => Volatile.Read(ref _firstTermAfterResume);

    /// <summary>Events delivered so far.</summary>
    public int Delivered => Volatile.Read(ref _delivered);

    /// <summary>Events delivered on streams opened after the break.</summary>
    public int EventsAfterResume => Volatile.Read(ref _eventsAfterResume);

    /// <summary>Stream attempts that failed after the break (dead or unready endpoints tried on the way).</summary>
    public int FailedAttempts { get; private set; }

    /// <summary>The endpoint of the current (or last) stream.</summary>
    public int Endpoint => Volatile.Read(ref _endpoint);

    /// <summary>Watches until <paramref name="stop"/> fires, resuming on the next endpoint after every break.</summary>
    public async Task RunAsync(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await WatchOnceAsync(stop).ConfigureAwait(false);
                // The server ended the stream with OK, which etcd never does while the client
                // keeps it open: treat it as a break, as clientv3 does.
                OnBreak();
            }
            catch (Exception) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is RpcException or IOException or HttpRequestException or InvalidOperationException)
            {
                OnBreak();
            }

            // The first retry goes out at once (the measured case); later ones, to an endpoint that
            // is down too, back off a little so that a dead cluster is not polled in a tight loop.
            if (FailedAttempts > 0)
                await Task.Delay(10, CancellationToken.None).ConfigureAwait(false);
        }
    }

    private async Task WatchOnceAsync(CancellationToken stop)
    {
        var resumed = BreakAt != 0;
        using var call = _channels[Endpoint].DuplexStreaming<WatchRequest, WatchResponse>("/etcdserverpb.Watch/Watch", WatchResponse.Parser, cancellationToken: stop);
        await call.WriteAsync(new WatchRequest { CreateRequest = new WatchCreateRequest { Key = _key, RangeEnd = _rangeEnd, StartRevision = LastRevision + 1 } }, stop)
            .ConfigureAwait(false);
        while (await call.MoveNextAsync(stop).ConfigureAwait(false))
        {
            var response = call.Current;
            if (response.Created && _created.TrySetResult())
                Volatile.Write(ref _termAtStart, (long)response.Header.RaftTerm);
            if (response.Canceled)
                throw new InvalidOperationException($"watch cancelled by the server: {response.CancelReason} (compact revision {response.CompactRevision})");
            if (response.Events.Count == 0)
                continue;
            var now = Stopwatch.GetTimestamp();
            foreach (var ev in response.Events)
            {
                _revisions.Add(ev.Kv.ModRevision);
                Volatile.Write(ref _lastRevision, ev.Kv.ModRevision);
            }

            Volatile.Write(ref _lastEventAt, now);
            Interlocked.Add(ref _delivered, response.Events.Count);
            if (resumed)
            {
                if (FirstAfterResumeAt == 0)
                {
                    Volatile.Write(ref _firstRevisionAfterResume, response.Events[0].Kv.ModRevision);
                    // Still the old term: the member delivered it before any new leader (its own apply backlog).
                    Volatile.Write(ref _firstTermAfterResume, (long)response.Header.RaftTerm);
                    Volatile.Write(ref _firstAfterResumeAt, now);
                }

                if (FirstFreshAt == 0 && response.Events[^1].Kv.ModRevision > CommittedAtKill)
                    Volatile.Write(ref _firstFreshAt, now);
                Interlocked.Add(ref _eventsAfterResume, response.Events.Count);
            }
        }
    }

    /// <summary>Notes the first break and moves to the next endpoint, as clientv3's balancer would.</summary>
    private void OnBreak()
    {
        var now = Stopwatch.GetTimestamp();
        if (BreakAt == 0)
        {
            Volatile.Write(ref _lastBeforeBreakAt, Volatile.Read(ref _lastEventAt));
            Volatile.Write(ref _breakAt, now);
        }
        else
        {
            FailedAttempts++;
        }

        Volatile.Write(ref _endpoint, (Endpoint + 1) % _channels.Count);
    }
}
