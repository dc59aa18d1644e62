using System.Runtime.ExceptionServices;
using System.Threading.Channels;
using Cairn.Protocol;
using Etcdserverpb;
using Google.Protobuf;
using Mvccpb;

namespace Cairn.Watch;

/// <summary>
/// Serves one Watch stream (etcd's serverWatchStream), independent of the transport: reads
/// <see cref="WatchRequest"/>s, creates and cancels watchers on a <see cref="WatchableStore"/>, and writes
/// <see cref="WatchResponse"/>s through one send loop, so the send delegate is never called concurrently.
/// </summary>
/// <remarks>
/// Every watch gets its "created" response before any of its events. Events of one revision are
/// never split across responses unless the watch asked for fragment. Responses wait in a bounded
/// buffer; when it is full the store parks the watcher (victim) and later catches it up, so a slow
/// client delays events but never loses them. A stream object serves one call of <c>RunAsync</c>.
/// </remarks>
public sealed class WatchStream
{
    /// <summary>etcd's cancel_reason for a create whose id is in use on the stream.</summary>
    public const string DuplicateIdReason = "mvcc: duplicate watch ID provided on the WatchStream";

    /// <summary>etcd's cancel_reason for a create whose range_end is not after its key.</summary>
    public const string EmptyRangeReason = "mvcc: watcher range is empty";

    /// <summary>The watch_id of responses that belong to no single watch (stream-wide progress), clientv3.InvalidWatchID.</summary>
    public const long InvalidWatchId = -1;

    private readonly WatchableStore _store;
    private readonly WatchStreamOptions _opt;
    private readonly Channel<WatchItem> _queue = Channel.CreateUnbounded<WatchItem>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Dictionary<long, Watcher> _watchers = new();
    private readonly Lock _wlock = new();
    private readonly SemaphoreSlim _ctrlSlots;
    private readonly Sink _sink;
    private readonly long _fragmentBytes;
    private long _nextId;
    private int _progressWatchers;
    private bool _closed;
    private int _started;

    /// <summary>Creates a stream over <paramref name="store"/>.</summary>
    public WatchStream(WatchableStore store, WatchStreamOptions? options = null)
    {
        _store = store;
        _opt = options ?? new WatchStreamOptions();
        _ctrlSlots = new SemaphoreSlim(Math.Max(1, _opt.ControlBufferSize));
        _sink = new Sink(this, Math.Max(1, _opt.SendBufferSize));
        _fragmentBytes = (long)_opt.MaxRequestBytes + _opt.GrpcOverheadBytes;
    }

    /// <summary>Watchers currently registered on this stream.</summary>
    public int WatcherCount { get { lock (_wlock) return _watchers.Count; } }

    /// <summary>Most event/progress responses ever waiting in the send buffer (bounded by <see cref="WatchStreamOptions.SendBufferSize"/>).</summary>
    internal int MaxPending => _sink.MaxPending;

    /// <summary>
    /// Serves the stream until <paramref name="ct"/> is cancelled or <paramref name="send"/> or the request
    /// sequence fails; then removes every watcher of the stream. As in etcd, the end of the request sequence
    /// (client half-close) does not end the stream: responses keep flowing until cancellation.
    /// Cancellation completes the task normally; a failure of <paramref name="send"/> or of the request
    /// sequence is rethrown after cleanup.
    /// </summary>
    public Task RunAsync(IAsyncEnumerable<WatchRequest> requests, Func<WatchResponse, CancellationToken, ValueTask> send, CancellationToken ct) =>
        RunAsync(requests, send, null, ct);

    /// <summary>
    /// As <see cref="RunAsync(IAsyncEnumerable{WatchRequest}, Func{WatchResponse, CancellationToken, ValueTask}, CancellationToken)"/>,
    /// for a transport that buffers: <paramref name="send"/> need not flush; the send loop calls
    /// <paramref name="flush"/> whenever it has sent everything queued (and at least every
    /// <see cref="MaxUnflushed"/> responses), so a burst of responses costs one flush. Order and
    /// content of responses are the same.
    /// </summary>
    public async Task RunAsync(IAsyncEnumerable<WatchRequest> requests, Func<WatchResponse, CancellationToken, ValueTask> send,
        Func<CancellationToken, ValueTask>? flush, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(requests);
        ArgumentNullException.ThrowIfNull(send);
        if (Interlocked.Exchange(ref _started, 1) != 0) throw new InvalidOperationException("a WatchStream serves one call");

        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var token = cts.Token;
        var sendTask = Task.Run(() => SendLoopAsync(send, flush, token), CancellationToken.None);
        var recvTask = Task.Run(() => RecvLoopAsync(requests, token), CancellationToken.None);
        var progressTask = Task.Run(() => ProgressLoopAsync(token), CancellationToken.None);
        Exception? failure = null;
        try
        {
            var first = await Task.WhenAny(sendTask, recvTask).ConfigureAwait(false);
            if (first == recvTask && recvTask.Status == TaskStatus.RanToCompletion) await sendTask.ConfigureAwait(false);
            else await first.ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            failure = e;
        }
        finally
        {
            cts.Cancel();
            Close();
            try { await sendTask.ConfigureAwait(false); } catch (Exception) { }
            try { await progressTask.ConfigureAwait(false); } catch (Exception) { }
            // The request reader may not honour cancellation promptly; observe it without waiting.
            _ = recvTask.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
        if (failure is not null) ExceptionDispatchInfo.Throw(failure);
    }

    private void Close()
    {
        lock (_wlock)
        {
            _closed = true;
            foreach (var w in _watchers.Values) _store.Remove(w);
            _watchers.Clear();
        }
        _queue.Writer.TryComplete();
    }

    // ---- receive side ----

    private async Task RecvLoopAsync(IAsyncEnumerable<WatchRequest> requests, CancellationToken ct)
    {
        await foreach (var req in requests.WithCancellation(ct).ConfigureAwait(false))
        {
            switch (req.RequestUnionCase)
            {
                case WatchRequest.RequestUnionOneofCase.CreateRequest:
                    await CreateAsync(req.CreateRequest, ct).ConfigureAwait(false);
                    break;
                case WatchRequest.RequestUnionOneofCase.CancelRequest:
                    await CancelAsync(req.CancelRequest.WatchId, ct).ConfigureAwait(false);
                    break;
                case WatchRequest.RequestUnionOneofCase.ProgressRequest:
                    await ProgressAsync(ct).ConfigureAwait(false);
                    break;
                default:
                    break; // etcd ignores an empty request
            }
        }
    }

    private async Task CreateAsync(WatchCreateRequest creq, CancellationToken ct)
    {
        // Normalise as etcd does: empty key = "\0" (smallest key); range_end "\0" = every key >= key.
        byte[] key = creq.Key.Length == 0 ? [0] : creq.Key.ToByteArray();
        byte[]? end = creq.RangeEnd.Length == 0 ? null
            : creq.RangeEnd.Length == 1 && creq.RangeEnd[0] == 0 ? []
            : creq.RangeEnd.ToByteArray();
        var flags = WatchFlags.None;
        foreach (var f in creq.Filters)
        {
            if (f == WatchCreateRequest.Types.FilterType.Noput) flags |= WatchFlags.NoPut;
            else if (f == WatchCreateRequest.Types.FilterType.Nodelete) flags |= WatchFlags.NoDelete;
        }
        if (creq.PrevKv) flags |= WatchFlags.PrevKv;
        if (creq.ProgressNotify) flags |= WatchFlags.ProgressNotify;
        if (creq.Fragment) flags |= WatchFlags.Fragment;

        if (_opt.Authorize is not null && await _opt.Authorize(creq, ct).ConfigureAwait(false) is { } refusal)
        {
            await _ctrlSlots.WaitAsync(ct).ConfigureAwait(false);
            EnqueueControl(new WatchResponse { Header = Header(_store.CurrentRevision), WatchId = creq.WatchId, Created = true, Canceled = true, CancelReason = refusal });
            return;
        }

        long start = creq.StartRevision;
        if (start == 0 && _opt.Barrier is not null) await _opt.Barrier(ct).ConfigureAwait(false);
        await _ctrlSlots.WaitAsync(ct).ConfigureAwait(false);

        long headerRev = _store.CurrentRevision;
        if (end is { Length: > 0 } && ByteKeys.Compare(key, end) >= 0)
        {
            EnqueueControl(new WatchResponse { Header = Header(headerRev), WatchId = InvalidWatchId, Created = true, Canceled = true, CancelReason = EmptyRangeReason });
            return;
        }
        if (start < 0)
        {
            // etcd (3.5+): a negative start revision is refused as compacted.
            EnqueueControl(new WatchResponse { Header = Header(headerRev), WatchId = InvalidWatchId, Created = true, Canceled = true, CancelReason = EtcdErrors.CompactedMessage });
            return;
        }
        if (start == 0) start = headerRev + 1;

        lock (_wlock)
        {
            if (_closed)
            {
                _ctrlSlots.Release();
                return;
            }
            long id = creq.WatchId;
            if (id == 0)
            {
                // etcd's AutoWatchID (0): the next free id, counting from 0.
                while (_watchers.ContainsKey(_nextId)) _nextId++;
                id = _nextId++;
            }
            else if (_watchers.ContainsKey(id))
            {
                EnqueueControl(new WatchResponse { Header = Header(headerRev), WatchId = InvalidWatchId, Created = true, Canceled = true, CancelReason = DuplicateIdReason });
                return;
            }
            var w = new Watcher(id, key, end, start, flags, _sink);
            _watchers.Add(id, w);
            if (creq.ProgressNotify) _progressWatchers++;
            // Queue "created" first: the store can only queue this watcher's events after Add.
            EnqueueControl(new WatchResponse { Header = Header(headerRev), WatchId = id, Created = true });
            _store.Add(w);
        }
    }

    private async Task CancelAsync(long id, CancellationToken ct)
    {
        await _ctrlSlots.WaitAsync(ct).ConfigureAwait(false);
        lock (_wlock)
        {
            if (_closed || !_watchers.Remove(id, out var w))
            {
                // etcd: cancelling an unknown id is silently ignored (no response).
                _ctrlSlots.Release();
                return;
            }
            if (w.Has(WatchFlags.ProgressNotify)) _progressWatchers--;
            _store.Remove(w);
            // Nothing of this watcher can be queued after this point.
            EnqueueControl(new WatchResponse { Header = Header(_store.CurrentRevision), WatchId = id, Canceled = true });
        }
    }

    private async Task ProgressAsync(CancellationToken ct)
    {
        if (_opt.Barrier is not null) await _opt.Barrier(ct).ConfigureAwait(false);
        await _ctrlSlots.WaitAsync(ct).ConfigureAwait(false);
        Interlocked.Exchange(ref _sink.ProgressSlotHeld, 1);
        _store.RequestProgressAll(_sink);
        // Deferred (or answered without taking the slot): give the slot back ourselves.
        if (Interlocked.Exchange(ref _sink.ProgressSlotHeld, 0) == 1) _ctrlSlots.Release();
    }

    private void EnqueueControl(WatchResponse response, bool releasesSlot = true)
    {
        if (!_queue.Writer.TryWrite(new WatchItem(WatchItemKind.Control, null, null, 0, response, releasesSlot)) && releasesSlot)
            _ctrlSlots.Release();
    }

    // ---- progress notify ----

    private async Task ProgressLoopAsync(CancellationToken ct)
    {
        var interval = _opt.ProgressNotifyInterval;
        if (interval <= TimeSpan.Zero || interval == Timeout.InfiniteTimeSpan) return;
        while (!ct.IsCancellationRequested)
        {
            // etcd adds up to 10 % jitter so watchers created together do not fire together.
            long jitter = interval.Ticks / 10 > 0 ? Random.Shared.NextInt64(interval.Ticks / 10) : 0;
            await Task.Delay(interval + TimeSpan.FromTicks(jitter), ct).ConfigureAwait(false);
            lock (_wlock)
            {
                if (_closed) return;
                if (_progressWatchers == 0) continue;
                foreach (var w in _watchers.Values)
                {
                    if (!w.Has(WatchFlags.ProgressNotify)) continue;
                    if (w.ProgressIdle) _store.RequestProgress(w);
                    w.ProgressIdle = true;
                }
            }
        }
    }

    // ---- send side ----

    /// <summary>Responses sent without a flush before the send loop flushes anyway (bounds what a transport buffers).</summary>
    internal const int MaxUnflushed = 64;

    private async Task SendLoopAsync(Func<WatchResponse, CancellationToken, ValueTask> send, Func<CancellationToken, ValueTask>? flush, CancellationToken ct)
    {
        var reader = _queue.Reader;
        int unflushed = 0;
        while (await reader.WaitToReadAsync(ct).ConfigureAwait(false))
        {
            while (true)
            {
                if (flush is not null && unflushed >= MaxUnflushed)
                {
                    await flush(ct).ConfigureAwait(false);
                    unflushed = 0;
                }
                if (!reader.TryRead(out var item))
                {
                    if (flush is not null && unflushed > 0)
                    {
                        await flush(ct).ConfigureAwait(false);
                        unflushed = 0;
                    }
                    break;
                }
                unflushed++;
                if (item.Kind == WatchItemKind.Control)
                {
                    await send(item.Control!, ct).ConfigureAwait(false);
                    if (item.ReleasesSlot) _ctrlSlots.Release();
                    continue;
                }
                try
                {
                    var w = item.Watcher!;
                    switch (item.Kind)
                    {
                        case WatchItemKind.Events:
                            await SendEventsAsync(w, item.Events!, item.Revision, send, ct).ConfigureAwait(false);
                            break;
                        case WatchItemKind.Progress:
                            await send(new WatchResponse { Header = Header(item.Revision), WatchId = w.Id }, ct).ConfigureAwait(false);
                            break;
                        case WatchItemKind.Compacted:
                            // etcd 3.4 leaves the revision out of this header (0); etcdctl's JSON shows it.
                            await send(new WatchResponse
                            {
                                Header = Header(0),
                                WatchId = w.Id,
                                Canceled = true,
                                CompactRevision = item.Revision,
                            }, ct).ConfigureAwait(false);
                            break;
                    }
                }
                finally
                {
                    _sink.Delivered();
                }
            }
        }
    }

    private async ValueTask SendEventsAsync(Watcher w, IReadOnlyList<Event> events, long revision,
        Func<WatchResponse, CancellationToken, ValueTask> send, CancellationToken ct)
    {
        var resp = new WatchResponse { Header = Header(revision), WatchId = w.Id };
        bool prev = w.Has(WatchFlags.PrevKv);
        for (int i = 0; i < events.Count; i++) resp.Events.Add(prev ? WithPrevKv(events[i]) : events[i]);
        if (w.Has(WatchFlags.Fragment) && resp.Events.Count > 1 && resp.CalculateSize() >= _fragmentBytes)
            await SendFragmentsAsync(resp, send, ct).ConfigureAwait(false);
        else
            await send(resp, ct).ConfigureAwait(false);
        if (events.Count > 0) w.ProgressIdle = false;
    }

    private async ValueTask SendFragmentsAsync(WatchResponse whole, Func<WatchResponse, CancellationToken, ValueTask> send, CancellationToken ct)
    {
        long baseSize = new WatchResponse { Header = whole.Header, WatchId = whole.WatchId, Fragment = true }.CalculateSize();
        var all = whole.Events;
        int i = 0;
        while (i < all.Count)
        {
            var part = new WatchResponse { Header = whole.Header, WatchId = whole.WatchId, Fragment = true };
            long size = baseSize;
            while (i < all.Count)
            {
                int evSize = 1 + CodedOutputStream.ComputeMessageSize(all[i]);
                if (part.Events.Count > 0 && size + evSize >= _fragmentBytes) break;
                part.Events.Add(all[i]);
                size += evSize;
                i++;
            }
            if (i == all.Count) part.Fragment = false;
            await send(part, ct).ConfigureAwait(false);
        }
    }

    private Event WithPrevKv(Event ev)
    {
        // A creation has no previous version: skip the lookup, as etcd does.
        if (ev.Type == Event.Types.EventType.Put && ev.Kv.CreateRevision == ev.Kv.ModRevision) return ev;
        KeyValue? prev;
        try { prev = _store.Get(ev.Kv.Key.Span, ev.Kv.ModRevision - 1); }
        catch (RpcException) { prev = null; } // compacted: omitted, as etcd does
        return prev is null ? ev : new Event { Type = ev.Type, Kv = ev.Kv, PrevKv = prev };
    }

    private ResponseHeader Header(long revision)
    {
        var h = _opt.HeaderFactory?.Invoke();
        return h is null
            ? new ResponseHeader { Revision = revision }
            : new ResponseHeader { ClusterId = h.ClusterId, MemberId = h.MemberId, RaftTerm = h.RaftTerm, Revision = revision };
    }

    /// <summary>The store's view of this stream.</summary>
    private sealed class Sink(WatchStream stream, int capacity) : WatchSink
    {
        private int _pending;
        internal int ProgressSlotHeld;
        internal int MaxPending;

        private volatile bool _blocked;

        internal override bool TrySend(in WatchItem item)
        {
            if (Volatile.Read(ref _pending) >= capacity)
            {
                _blocked = true;
                return false;
            }
            int p = Interlocked.Increment(ref _pending);
            if (p > MaxPending) MaxPending = p;
            // A closed stream drops the item; its watchers are being removed.
            if (!stream._queue.Writer.TryWrite(item)) Interlocked.Decrement(ref _pending);
            return true;
        }

        internal void Delivered()
        {
            int p = Interlocked.Decrement(ref _pending);
            // Something was refused while full: wake the store's loop once half the buffer is free.
            if (_blocked && p <= capacity / 2)
            {
                _blocked = false;
                stream._store.Signal();
            }
        }

        internal override void SendProgressAll(long revision)
        {
            bool release = Interlocked.Exchange(ref ProgressSlotHeld, 0) == 1;
            stream.EnqueueControl(new WatchResponse { Header = stream.Header(revision), WatchId = InvalidWatchId }, release);
        }
    }
}
