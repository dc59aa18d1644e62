using System.Threading.Channels;
using Cairn.Protocol;
using Etcdserverpb;
using Mvccpb;

namespace Cairn.Client;

/// <summary>
/// Runs every watch of a client that shares one stream setting (with or without
/// <c>hasleader</c>): one Watch stream at a time, on the pinned endpoint, carrying all of them.
/// <para>All state lives in one loop fed by a command queue (add, remove, response, stream
/// failure, tick), so there are no locks and the order of events is the order of the queue. The
/// queue is bounded: the stream's reader and the callers adding, removing or resuming watches wait
/// for room (a reader that waits stops reading, which is backpressure on the stream); ticks are
/// coalesced, and what background tasks report (the liveness ping, a due reconnect) is kept as
/// state the next tick reads, so the loop never needs room in its own queue.</para>
/// <para>The stream's outbox is bounded too (<see cref="EtcdClientOptions.WatchOutboxCapacity"/>):
/// at most <see cref="CreateWindow"/> creates are in flight (the rest wait their turn as state,
/// one entry per watch), and a request that does not fit means the member is not reading the
/// stream: it is given up and the watches resume elsewhere.</para>
/// <para>When the stream breaks — the member dies, cancels it with "etcdserver: no leader", or
/// stays silent through a probe (see <see cref="EtcdClientOptions.WatchProbeInterval"/>) — the
/// endpoint is quarantined, a new stream opens on the next endpoint and every watch is re-created
/// from its <see cref="WatchCursor.NextRevision"/>; the cursor drops anything already delivered.
/// Compaction past the resume point ends that watch with <see cref="WatchCompactedException"/>.</para>
/// <para>A watch whose consumer's queue is full is suspended alone: cancelled on the server, its
/// late events dropped, and re-created from its cursor when the consumer has caught up (see
/// <see cref="EtcdClientOptions.WatchQueueCapacity"/>). Only responses carrying a watcher's
/// current server id reach it, so leftovers of a cancelled id never leak into its new incarnation.</para>
/// </summary>
internal sealed class WatchHub : IAsyncDisposable
{
    private static readonly TimeSpan TickPeriod = TimeSpan.FromMilliseconds(50);

    // Room for the stream's responses and the callers' commands between two turns of the loop.
    private const int CommandCapacity = 1024;

    private readonly EndpointPool _pool;
    private readonly IWatchTransport _transport;
    private readonly EtcdClientOptions _options;
    private readonly bool _requireLeader;
    private readonly Channel<Command> _commands = Channel.CreateBounded<Command>(new BoundedChannelOptions(CommandCapacity)
    {
        SingleReader = true,
        FullMode = BoundedChannelFullMode.Wait,
    });
    private readonly CancellationTokenSource _stop = new();
    private readonly object _startLock = new();
    private readonly List<Watcher> _watchers = new();
    private Task? _loop;
    private WatchSession? _session;
    private int _nextSessionId;
    private int _failuresSinceAnswer;
    private bool _reconnectScheduled;
    private long _reconnectAt;
    private int _tickQueued;
    private bool _disposed;

    public WatchHub(EndpointPool pool, IWatchTransport transport, EtcdClientOptions options, bool requireLeader)
    {
        _pool = pool;
        _transport = transport;
        _options = options;
        _requireLeader = requireLeader;
    }

    /// <summary>Streams opened so far (the first one plus every resume); for diagnostics and tests.</summary>
    public int SessionsOpened => Volatile.Read(ref _nextSessionId);

    /// <summary>Most creates in flight on one stream (a window, so that re-creating many watches never floods the outbox).</summary>
    private int CreateWindow => Math.Max(1, _options.WatchOutboxCapacity / 4);

    /// <summary>Adds a watch, waiting while the hub's queue is full.</summary>
    public async ValueTask AddAsync(Watcher watcher, CancellationToken cancellationToken)
    {
        EnsureStarted();
        if (!await TryEnqueueAsync(new Command.Add(watcher), cancellationToken).ConfigureAwait(false))
        {
            watcher.Finish(new ObjectDisposedException(nameof(EtcdClient)));
        }
    }

    /// <summary>The consumer left: cancel the watch on the server (waits while the hub's queue is full).</summary>
    public async ValueTask RemoveAsync(Watcher watcher) => await TryEnqueueAsync(new Command.Remove(watcher), CancellationToken.None).ConfigureAwait(false);

    /// <summary>The consumer of a suspended watch has drained its queue enough: re-create it.</summary>
    public async ValueTask ResumeAsync(Watcher watcher) => await TryEnqueueAsync(new Command.Resume(watcher), CancellationToken.None).ConfigureAwait(false);

    /// <summary>Queues a command, waiting for room; false once the hub is disposed.</summary>
    private async ValueTask<bool> TryEnqueueAsync(Command command, CancellationToken cancellationToken)
    {
        try
        {
            await _commands.Writer.WriteAsync(command, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (ChannelClosedException)
        {
            return false;
        }
    }

    private void EnsureStarted()
    {
        lock (_startLock)
        {
            if (_loop != null)
            {
                return;
            }
            _loop = Task.Run(RunAsync);
            _ = Task.Run(TickAsync);
        }
    }

    private async Task TickAsync()
    {
        using var timer = new PeriodicTimer(TickPeriod);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false))
            {
                // At most one tick waits in the queue; a full queue skips it (the next one comes soon).
                if (Interlocked.Exchange(ref _tickQueued, 1) == 0 && !_commands.Writer.TryWrite(Command.Tick.Instance))
                {
                    Volatile.Write(ref _tickQueued, 0);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task RunAsync()
    {
        await foreach (var command in _commands.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            try
            {
                switch (command)
                {
                    case Command.Add add:
                        OnAdd(add.Watcher);
                        break;
                    case Command.Remove remove:
                        OnRemove(remove.Watcher);
                        break;
                    case Command.Resume resume:
                        OnResume(resume.Watcher);
                        break;
                    case Command.Response response:
                        OnResponse(response.Session, response.Message);
                        break;
                    case Command.Failed failed:
                        OnFailed(failed.Session, failed.Error);
                        break;
                    case Command.Reconnect:
                        ReconnectIfDue();
                        break;
                    case Command.Tick:
                        Volatile.Write(ref _tickQueued, 0);
                        OnTick();
                        break;
                    case Command.Shutdown shutdown:
                        OnShutdown();
                        shutdown.Done.TrySetResult();
                        return;
                }
                if (_session is { Overflowed: true } overflowed)
                {
                    OnFailed(overflowed, new RpcException(StatusCode.Unavailable,
                        $"etcdclient: watch request outbox full ({_options.WatchOutboxCapacity} requests not yet written): the member is not reading the stream"));
                }
            }
            catch (Exception e)
            {
                // A bug here must not silently freeze every watch: end them with the error.
                _options.Log?.Invoke($"watch hub failed: {e}");
                foreach (var w in _watchers)
                {
                    w.Finish(new EtcdException(StatusCode.Internal, "etcdclient: watch hub failed: " + e.Message, inner: e));
                }
                _watchers.Clear();
                _session?.Close(graceful: false, TimeSpan.Zero);
                _session = null;
            }
        }
    }

    private void OnAdd(Watcher watcher)
    {
        if (_disposed)
        {
            watcher.Finish(new ObjectDisposedException(nameof(EtcdClient)));
            return;
        }
        _watchers.Add(watcher);
        if (_session != null)
        {
            SendCreate(_session, watcher);
        }
        else
        {
            EnsureSession();
        }
    }

    private void OnRemove(Watcher watcher)
    {
        if (!_watchers.Remove(watcher))
        {
            return;
        }
        watcher.Removed = true;
        watcher.Finish(null);
        var session = _session;
        if (session != null && watcher.WatchId >= 0 && session.ById.ContainsKey(watcher.WatchId))
        {
            // Keep the id mapped until the cancel reply so late events for it are recognised and dropped.
            session.Send(new WatchRequest { CancelRequest = new WatchCancelRequest { WatchId = watcher.WatchId } });
        }
        // A watcher still waiting for its created reply is cancelled when that reply comes.
        CloseIfIdle();
    }

    /// <summary>The consumer cannot take more: cancel this watch alone on the server and stop delivering to it.</summary>
    private void Suspend(WatchSession session, Watcher watcher)
    {
        watcher.Suspended = true;
        watcher.Fragments = null;
        _options.Log?.Invoke($"watch {watcher.WatchId} on {session.Endpoint.Address} suspended: its consumer's queue is full " +
            $"({watcher.QueueCapacity} batches); it resumes from revision {watcher.Cursor.NextRevision}");
        // Keep the id mapped until the cancel reply so its late events are recognised and dropped.
        session.Send(new WatchRequest { CancelRequest = new WatchCancelRequest { WatchId = watcher.WatchId } });
        watcher.WatchId = -1;
        if (watcher.TryClaimResume())
        {
            // The consumer drained the queue between the check and the flag: it will not ask, so resume now.
            OnResume(watcher);
        }
    }

    private void OnResume(Watcher watcher)
    {
        if (!watcher.Suspended || watcher.Removed || !_watchers.Contains(watcher))
        {
            return;
        }
        watcher.Suspended = false;
        _options.Log?.Invoke($"watch resumed from revision {watcher.Cursor.NextRevision} after its consumer caught up");
        if (_session != null)
        {
            SendCreate(_session, watcher);
        }
        else if (!_reconnectScheduled)
        {
            EnsureSession();
        }
        // Otherwise the scheduled reconnect re-creates it with the others.
    }

    /// <summary>With no watch left on it, the stream is ended politely (its cancels go out first).</summary>
    private void CloseIfIdle()
    {
        var session = _session;
        if (session != null && _watchers.Count == 0 && session.PendingCreates.Count == 0)
        {
            _session = null;
            session.Close(graceful: true, TimeSpan.FromMilliseconds(500));
        }
    }

    private void EnsureSession()
    {
        if (_session != null || _disposed || _watchers.Count == 0)
        {
            return;
        }
        var endpoint = _pool.Pick();
        IWatchConnection connection;
        try
        {
            connection = _transport.Open(endpoint, _requireLeader);
        }
        catch (Exception e)
        {
            _pool.ReportFailure(endpoint);
            _failuresSinceAnswer++;
            _options.Log?.Invoke($"watch stream to {endpoint.Address} could not open: {e.Message}");
            ScheduleReconnect();
            return;
        }
        var session = new WatchSession(Interlocked.Increment(ref _nextSessionId), endpoint, connection, _options.WatchOutboxCapacity);
        _session = session;
        _options.Log?.Invoke($"watch stream #{session.Id} opening on {endpoint.Address} (require-leader={_requireLeader}, {_watchers.Count} watches)");
        session.Start(PostAsync);
        foreach (var watcher in _watchers.Where(w => !w.Suspended))
        {
            SendCreate(session, watcher);
        }
    }

    /// <summary>A session's reader or writer reports; it waits for room (the session's token ends the wait when it closes).</summary>
    private async ValueTask PostAsync(WatchSession session, WatchResponse? response, Exception? error, CancellationToken cancellationToken)
    {
        try
        {
            await TryEnqueueAsync(response != null ? new Command.Response(session, response) : new Command.Failed(session, error!), cancellationToken)
                .ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // The session closed: the hub no longer cares what it says.
        }
    }

    /// <summary>Sends the watch's create request, or lets it wait its turn when the window of creates in flight is full.</summary>
    private void SendCreate(WatchSession session, Watcher watcher)
    {
        watcher.WatchId = -1;
        watcher.Fragments = null;
        if (session.PendingCreates.Count >= CreateWindow)
        {
            session.WaitingCreates.Enqueue(watcher);
            return;
        }
        session.PendingCreates.Enqueue(watcher);
        session.Send(watcher.CreateRequest());
    }

    /// <summary>A create was answered: send the next waiting ones (skipping watches that ended or were suspended meanwhile).</summary>
    private void SendWaitingCreates(WatchSession session)
    {
        while (session.PendingCreates.Count < CreateWindow && session.WaitingCreates.TryDequeue(out var watcher))
        {
            if (!watcher.Finished && !watcher.Suspended)
            {
                SendCreate(session, watcher);
            }
        }
    }

    private void OnResponse(WatchSession session, WatchResponse response)
    {
        if (session != _session)
        {
            return;
        }
        session.LastReceive = Environment.TickCount64;
        session.ProbeSentAt = null;
        if (!session.Answered)
        {
            session.Answered = true;
            _failuresSinceAnswer = 0;
            _pool.ReportSuccess(session.Endpoint);
        }
        var header = response.Header?.Revision ?? 0;
        if (response.Created)
        {
            OnCreated(session, response, header);
            return;
        }
        if (!session.ById.TryGetValue(response.WatchId, out var watcher))
        {
            // watch_id -1 answers our WatchProgressRequest probe (liveness only: etcd 3.4 may send it
            // ahead of pending events, so it never moves a cursor); other ids are leftovers of cancels.
            return;
        }
        // A removed watcher keeps its id until the cancel reply; a suspended or re-created one has a new id (or -1).
        var current = watcher.WatchId == response.WatchId;
        if (response.Canceled)
        {
            session.ById.Remove(response.WatchId);
            if (current && !watcher.Removed)
            {
                OnServerCancel(session, watcher, response);
            }
            CloseIfIdle();
            return;
        }
        if (!current || watcher.Removed)
        {
            return;
        }
        if (watcher.IsFull)
        {
            // Nothing of this response is accepted, so the cursor still points at the first event not delivered.
            Suspend(session, watcher);
            return;
        }
        if (response.Fragment)
        {
            (watcher.Fragments ??= new List<Event>()).AddRange(response.Events);
            return;
        }
        IEnumerable<Event> events = response.Events;
        if (watcher.Fragments != null)
        {
            watcher.Fragments.AddRange(response.Events);
            events = watcher.Fragments;
            watcher.Fragments = null;
        }
        var list = events as IReadOnlyCollection<Event> ?? events.ToList();
        if (list.Count == 0)
        {
            // A progress notification (periodic, for a watch that asked for them): a safe bookmark,
            // it travels the same path as the watch's events.
            if (watcher.Cursor.OnProgress(header) && watcher.Options.ProgressNotify)
            {
                watcher.Deliver(new WatchBatch(header, Array.Empty<Event>(), isProgressNotify: true, isCreated: false, session.Endpoint.Address));
            }
            return;
        }
        var fresh = watcher.Cursor.Accept(list);
        if (fresh.Count > 0)
        {
            watcher.Deliver(new WatchBatch(header, fresh, isProgressNotify: false, isCreated: false, session.Endpoint.Address));
        }
    }

    private void OnCreated(WatchSession session, WatchResponse response, long header)
    {
        if (!session.PendingCreates.TryDequeue(out var watcher))
        {
            OnFailed(session, new RpcException(StatusCode.Internal, "etcdclient: created response without a pending create request"));
            return;
        }
        SendWaitingCreates(session);
        if (response.Canceled || response.WatchId < 0)
        {
            // The server refused to create it.
            if (watcher.Removed)
            {
                return;
            }
            if (response.CancelReason == EtcdErrors.NoLeaderMessage)
            {
                OnFailed(session, EtcdErrors.NoLeader());
                return;
            }
            if (response.CompactRevision != 0)
            {
                FinishWatcher(watcher, new WatchCompactedException(response.CompactRevision, watcher.Cursor.NextRevision, session.Endpoint.Address));
                return;
            }
            FinishWatcher(watcher, new EtcdException(StatusCode.InvalidArgument,
                string.IsNullOrEmpty(response.CancelReason) ? "etcdserver: watch create refused" : response.CancelReason, session.Endpoint.Address));
            return;
        }
        watcher.WatchId = response.WatchId;
        session.ById[response.WatchId] = watcher;
        if (watcher.Removed)
        {
            session.Send(new WatchRequest { CancelRequest = new WatchCancelRequest { WatchId = response.WatchId } });
            return;
        }
        watcher.Cursor.OnCreated(header);
        if (watcher.Options.CreatedNotify && !watcher.CreatedReported)
        {
            watcher.CreatedReported = true;
            watcher.Deliver(new WatchBatch(header, Array.Empty<Event>(), isProgressNotify: false, isCreated: true, session.Endpoint.Address));
        }
    }

    private void OnServerCancel(WatchSession session, Watcher watcher, WatchResponse response)
    {
        if (response.CompactRevision != 0)
        {
            FinishWatcher(watcher, new WatchCompactedException(response.CompactRevision, watcher.Cursor.NextRevision, session.Endpoint.Address));
            return;
        }
        if (response.CancelReason == EtcdErrors.NoLeaderMessage)
        {
            // The member lost its leader: everything on this stream is suspect, move all of it.
            OnFailed(session, EtcdErrors.NoLeader());
            return;
        }
        FinishWatcher(watcher, new EtcdException(StatusCode.Cancelled,
            string.IsNullOrEmpty(response.CancelReason) ? EtcdErrors.WatchCanceledMessage : response.CancelReason, session.Endpoint.Address));
    }

    private void FinishWatcher(Watcher watcher, Exception error)
    {
        _watchers.Remove(watcher);
        watcher.Finish(error);
    }

    private void OnFailed(WatchSession session, Exception error)
    {
        if (session != _session)
        {
            return;
        }
        _session = null;
        session.Close(graceful: false, TimeSpan.Zero);
        var rpc = error as RpcException;
        if (rpc != null && FailureClassifier.IsTerminal(rpc))
        {
            // The server rejects watching itself (auth, unimplemented, bad request): retrying elsewhere will not help.
            _options.Log?.Invoke($"watch stream #{session.Id} on {session.Endpoint.Address} refused: {rpc.Status}: {rpc.Message}");
            foreach (var w in _watchers.ToList())
            {
                FinishWatcher(w, EtcdException.From(rpc, session.Endpoint.Address));
            }
            return;
        }
        _pool.ReportFailure(session.Endpoint);
        if (!session.Answered)
        {
            _failuresSinceAnswer++;
        }
        _options.Log?.Invoke($"watch stream #{session.Id} on {session.Endpoint.Address} broke ({Describe(error)}); resuming {_watchers.Count} watches elsewhere");
        foreach (var w in _watchers)
        {
            w.WatchId = -1;
            w.Fragments = null;
        }
        ScheduleReconnect();
    }

    private static string Describe(Exception e) => e is RpcException rpc ? $"{rpc.Status}: {rpc.Message}" : e.GetType().Name + ": " + e.Message;

    /// <summary>
    /// Re-opens at once while endpoints remain untried, then backs off exponentially (capped) while
    /// every endpoint keeps failing, so a dead cluster costs a few attempts per second, not a spin.
    /// </summary>
    private void ScheduleReconnect()
    {
        if (_reconnectScheduled || _disposed || _watchers.Count == 0)
        {
            return;
        }
        var rounds = _failuresSinceAnswer - _pool.Endpoints.Count;
        if (rounds < 0)
        {
            EnsureSession();
            return;
        }
        var delayMs = Math.Min(50.0 * Math.Pow(2, Math.Min(rounds, 10)), _options.WatchMaxBackoff.TotalMilliseconds);
        _reconnectScheduled = true;
        _reconnectAt = Environment.TickCount64 + (long)delayMs;
        // The command is a shortcut; if the queue is full, the tick finds the reconnect due anyway.
        _ = Task.Delay(TimeSpan.FromMilliseconds(delayMs), _stop.Token).ContinueWith(
            _ => _commands.Writer.TryWrite(Command.Reconnect.Instance), TaskScheduler.Default);
    }

    private void ReconnectIfDue()
    {
        if (_reconnectScheduled && Environment.TickCount64 >= _reconnectAt)
        {
            _reconnectScheduled = false;
            EnsureSession();
        }
    }

    private void OnTick()
    {
        ReconnectIfDue();
        var session = _session;
        if (session == null || (session.ById.Count == 0 && session.PendingCreates.Count == 0))
        {
            return;
        }
        var now = Environment.TickCount64;
        var idle = now - session.LastReceive;
        var probeInterval = _options.WatchProbeInterval;
        if (probeInterval != Timeout.InfiniteTimeSpan && probeInterval > TimeSpan.Zero)
        {
            if (session.ProbeSentAt is not { } sent)
            {
                if (idle >= probeInterval.TotalMilliseconds)
                {
                    session.ProbeSentAt = now;
                    session.PingAnswered = false;
                    session.Send(new WatchRequest { ProgressRequest = new WatchProgressRequest() });
                    var timeout = _options.WatchProbeTimeout;
                    _ = _transport.PingAsync(session.Endpoint, timeout).ContinueWith(t =>
                    {
                        if (t.IsCompletedSuccessfully && t.Result)
                        {
                            session.PingAnswered = true;
                        }
                    }, TaskScheduler.Default);
                }
            }
            else if (session.PingAnswered)
            {
                // The member answers on the same connection: the stream is quiet, not dead (e.g. a watcher
                // catching up through a long history gets no progress reply). Start the idle clock again.
                session.LastReceive = now;
                session.ProbeSentAt = null;
                return;
            }
            else if (now - sent >= _options.WatchProbeTimeout.TotalMilliseconds)
            {
                OnFailed(session, new RpcException(StatusCode.Unavailable,
                    $"etcdclient: watch stream silent for {idle} ms and the member did not answer a probe within {_options.WatchProbeTimeout.TotalMilliseconds} ms"));
                return;
            }
        }
        var progressBound = _options.ProgressNotifyInterval.TotalMilliseconds * _options.ProgressNotifySilenceFactor;
        if (idle >= progressBound && session.ById.Values.Any(w => w.Options.ProgressNotify && !w.Removed))
        {
            OnFailed(session, new RpcException(StatusCode.Unavailable,
                $"etcdclient: no progress notification for {idle} ms (expected every {_options.ProgressNotifyInterval.TotalMilliseconds} ms)"));
        }
    }

    private void OnShutdown()
    {
        _disposed = true;
        var session = _session;
        _session = null;
        if (session != null)
        {
            foreach (var (id, _) in session.ById)
            {
                session.Send(new WatchRequest { CancelRequest = new WatchCancelRequest { WatchId = id } });
            }
            session.Close(graceful: true, TimeSpan.FromMilliseconds(200));
        }
        foreach (var w in _watchers)
        {
            w.Finish(null);
        }
        _watchers.Clear();
    }

    public async ValueTask DisposeAsync()
    {
        Task? loop;
        lock (_startLock)
        {
            loop = _loop;
            _loop ??= Task.CompletedTask;
        }
        if (loop != null)
        {
            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            try
            {
                using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                if (await TryEnqueueAsync(new Command.Shutdown(done), wait.Token).ConfigureAwait(false))
                {
                    await done.Task.WaitAsync(wait.Token).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException)
            {
                // The loop is stuck behind something slow; closing the connections below ends it.
            }
        }
        _commands.Writer.TryComplete();
        _stop.Cancel();
    }

    private abstract record Command
    {
        public sealed record Add(Watcher Watcher) : Command;

        public sealed record Remove(Watcher Watcher) : Command;

        public sealed record Resume(Watcher Watcher) : Command;

        public sealed record Response(WatchSession Session, WatchResponse Message) : Command;

        public sealed record Failed(WatchSession Session, Exception Error) : Command;

        public sealed record Reconnect : Command
        {
            public static readonly Reconnect Instance = new();
        }

        public sealed record Tick : Command
        {
            public static readonly Tick Instance = new();
        }

        public sealed record Shutdown(TaskCompletionSource Done) : Command;
    }
}
