using Cairn.Mvcc;
using Cairn.Protocol;
using Mvccpb;

namespace Cairn.Watch;

/// <summary>
/// Makes a <see cref="KvStore"/> watchable: observes every committed write and hands its events to
/// the watchers that match, as etcd's watchable store does.
/// </summary>
/// <remarks>
/// Watchers live in one of three groups. <b>Synced</b> watchers are caught up and receive writes as they
/// are committed (single keys found by a hash map, ranges by an interval tree, so a write costs
/// O(matching watchers)). <b>Unsynced</b> watchers need history: a background loop replays it from the
/// store in bounded batches and moves them to synced once caught up. <b>Victims</b> are watchers whose
/// stream buffer was full: each holds only the one batch that was refused; the loop retries it and then
/// moves the watcher back (to unsynced if writes happened meanwhile). No watcher ever loses an event; a
/// watcher is cancelled by the store only when the history it still needs was compacted.
/// Dispose stops the background loop.
/// </remarks>
public sealed class WatchableStore : IWriteObserver, IDisposable
{
    private readonly IEventSource _src;
    private readonly WatchableStoreOptions _opt;
    private readonly Lock _mu = new();
    private readonly Dictionary<byte[], WatcherList> _keys = new(ByteArrayComparer.Instance);
    private readonly Dictionary<byte[], WatcherList>.AlternateLookup<ReadOnlySpan<byte>> _keyLookup;
    private readonly IntervalTree<Watcher> _ranges = new();
    private readonly WatcherList _unsynced = new(16);
    private readonly WatcherList _victims = new(16);
    private readonly List<Watcher> _stab = new();
    private readonly List<Watcher> _futures = new();
    private readonly List<Watcher> _touched = new();
    private readonly Stack<List<Event>> _listPool = new();
    private readonly List<Event> _syncEvents = new();
    private readonly CancellationTokenSource _cts = new();
    private readonly SemaphoreSlim _signal = new(0, 1);
    private readonly Task _loop;
    private long _notifiedRev;
    private long _seq;
    private long _syncCursor;
    private int _syncedCount;
    private bool _disposed;

    /// <summary>
    /// Wraps <paramref name="store"/> and registers itself as its <see cref="KvStore.Observer"/>; must be
    /// created before the store's first write after it is opened (or restored) so no write is missed.
    /// Starts the background catch-up loop.
    /// </summary>
    public WatchableStore(KvStore store, WatchableStoreOptions? options = null)
        : this(new KvStoreEventSource(store), options)
    {
        store.Observer = this;
    }

    internal WatchableStore(IEventSource source, WatchableStoreOptions? options = null)
    {
        _src = source;
        _opt = options ?? new WatchableStoreOptions();
        _keyLookup = _keys.GetAlternateLookup<ReadOnlySpan<byte>>();
        _notifiedRev = source.Revision;
        _loop = Task.Run(() => LoopAsync(_cts.Token));
    }

    /// <summary>The store's current revision.</summary>
    public long CurrentRevision => _src.Revision;

    /// <summary>The store's compact revision.</summary>
    public long CompactRevision => _src.CompactRevision;

    /// <summary>Watchers in the synced group.</summary>
    public int SyncedCount { get { lock (_mu) return _syncedCount; } }

    /// <summary>Watchers waiting for history.</summary>
    public int UnsyncedCount { get { lock (_mu) return _unsynced.Count; } }

    /// <summary>Watchers whose stream buffer was full.</summary>
    public int VictimCount { get { lock (_mu) return _victims.Count; } }

    /// <summary>Test hook: while set, the background loop neither catches up unsynced watchers nor retries victims.</summary>
    internal volatile bool SyncPaused;

    /// <summary>How many times a watcher became a victim (tests: proves the slow path ran).</summary>
    internal int VictimTransitions { get; private set; }

    /// <summary>Largest batch a victim ever held (events), for tests of the memory bound.</summary>
    internal int MaxVictimBatchEvents { get; private set; }

    /// <summary>Last revision seen through <see cref="OnWrite"/> (or the store's revision at start).</summary>
    internal long NotifiedRevision { get { lock (_mu) return _notifiedRev; } }

    internal KeyValue? Get(ReadOnlySpan<byte> key, long revision) => _src.Get(key, revision);

    /// <inheritdoc />
    public void OnWrite(long revision, IReadOnlyList<Event> events)
    {
        lock (_mu)
        {
            if (revision > _notifiedRev) _notifiedRev = revision;
            if (_futures.Count > 0) ReleaseFutures();
            if (_syncedCount == 0 || _disposed) return;
            for (int i = 0; i < events.Count; i++)
            {
                var ev = events[i];
                var key = ev.Kv.Key.Span;
                if (_keys.Count > 0 && _keyLookup.TryGetValue(key, out var bucket))
                {
                    for (int j = 0; j < bucket.Count; j++) Collect(bucket[j], ev, revision);
                }
                if (_ranges.Count > 0)
                {
                    _stab.Clear();
                    _ranges.Stab(key, _stab);
                    for (int j = 0; j < _stab.Count; j++) Collect(_stab[j], ev, revision);
                }
            }
            if (_touched.Count == 0) return;
            Event[]? all = null;
            for (int t = 0; t < _touched.Count; t++)
            {
                var w = _touched[t];
                var list = w.Scratch!;
                w.Scratch = null;
                IReadOnlyList<Event> batch;
                if (list.Count == events.Count)
                {
                    // Every event matched: share one immutable copy between all such watchers.
                    if (all is null)
                    {
                        all = new Event[events.Count];
                        for (int k = 0; k < all.Length; k++) all[k] = events[k];
                    }
                    batch = all;
                    list.Clear();
                    if (_listPool.Count < 64) _listPool.Push(list);
                }
                else
                {
                    batch = list; // handed over to the stream
                }
                var item = new WatchItem(WatchItemKind.Events, w, batch, revision);
                w.MinRev = revision + 1;
                if (!w.Sink.TrySend(item)) MakeVictim(w, item);
            }
            _touched.Clear();
        }
    }

    /// <summary>Watchers handed an event candidate by the key map or the interval tree (tests: notify cost).</summary>
    internal long NotifyVisits;

    /// <summary>The background loop (tests: it ends on Dispose).</summary>
    internal Task LoopTask => _loop;

    private void Collect(Watcher w, Event ev, long revision)
    {
        NotifyVisits++;
        if (w.MinRev > revision || !w.Accepts(ev)) return;
        if (w.Scratch is null)
        {
            w.Scratch = _listPool.Count > 0 ? _listPool.Pop() : new List<Event>(4);
            _touched.Add(w);
        }
        w.Scratch.Add(ev);
    }

    /// <inheritdoc />
    public void OnCompact(long compactRevision) => Signal();

    /// <summary>
    /// The store's state was replaced by a snapshot. Every synced watcher has received everything up to
    /// the last notified revision; it goes back to unsynced from there and catches up from the new history
    /// (or is cancelled as compacted if that history no longer reaches back far enough).
    /// </summary>
    public void OnRestore(long revision, long compactRevision)
    {
        lock (_mu)
        {
            long delivered = _notifiedRev;
            _notifiedRev = revision;
            var all = new List<Watcher>(_syncedCount);
            foreach (var bucket in _keys.Values)
                for (int i = 0; i < bucket.Count; i++) all.Add(bucket[i]);
            _ranges.CollectAll(all);
            foreach (var w in all)
            {
                RemoveSynced(w);
                if (w.MinRev <= delivered) w.MinRev = delivered + 1;
                AddUnsynced(w);
            }
        }
        Signal();
    }

    /// <summary>Adds a watcher whose <see cref="Watcher.MinRev"/> is its start revision.</summary>
    internal void Add(Watcher w)
    {
        lock (_mu)
        {
            if (_disposed)
            {
                w.State = WatcherState.Removed;
                return;
            }
            w.Seq = ++_seq;
            if (w.MinRev > _notifiedRev)
            {
                AddSynced(w);
                return;
            }
            AddUnsynced(w);
        }
        Signal();
    }

    /// <summary>Removes a watcher from whichever group holds it.</summary>
    internal void Remove(Watcher w)
    {
        lock (_mu)
        {
            Detach(w);
            SetState(w, WatcherState.Removed);
            CheckDeferredProgress(w.Sink);
        }
    }

    /// <summary>Queues an empty progress response for the watcher if it is synced (dropped if its buffer is full).</summary>
    internal void RequestProgress(Watcher w)
    {
        lock (_mu)
        {
            // As etcd: only a synced watcher whose start revision has been reached gets a progress report
            // (a client resuming from it would otherwise start before the revision it asked for).
            if (w.State == WatcherState.Synced && !w.Future) w.Sink.TrySend(new WatchItem(WatchItemKind.Progress, w, null, _notifiedRev));
        }
    }

    /// <summary>
    /// Answers a stream-wide progress request now if every watcher of <paramref name="sink"/> is synced,
    /// otherwise as soon as they all are. Returns whether it was answered now.
    /// </summary>
    internal bool RequestProgressAll(WatchSink sink)
    {
        lock (_mu)
        {
            if (sink.NotSyncedCount == 0 && sink.FutureCount == 0)
            {
                sink.DeferredProgress = false;
                sink.SendProgressAll(_notifiedRev);
                return true;
            }
            sink.DeferredProgress = true;
            return false;
        }
    }

    // ---- groups (all under _mu) ----

    private void SetState(Watcher w, WatcherState s)
    {
        bool was = w.State is WatcherState.Unsynced or WatcherState.Victim;
        bool now = s is WatcherState.Unsynced or WatcherState.Victim;
        w.State = s;
        if (was == now) return;
        w.Sink.NotSyncedCount += now ? 1 : -1;
        if (!now) CheckDeferredProgress(w.Sink);
    }

    private void CheckDeferredProgress(WatchSink sink)
    {
        if (sink.DeferredProgress && sink.NotSyncedCount == 0 && sink.FutureCount == 0)
        {
            sink.DeferredProgress = false;
            sink.SendProgressAll(_notifiedRev);
        }
    }

    private void ReleaseFutures()
    {
        for (int i = _futures.Count - 1; i >= 0; i--)
        {
            var w = _futures[i];
            if (w.MinRev > _notifiedRev + 1) continue;
            _futures.RemoveAt(i);
            w.Future = false;
            w.Sink.FutureCount--;
            CheckDeferredProgress(w.Sink);
        }
    }

    private void AddSynced(Watcher w)
    {
        if (w.End is null)
        {
            if (!_keys.TryGetValue(w.Key, out var bucket))
            {
                bucket = new WatcherList(1);
                _keys.Add(w.Key, bucket);
            }
            bucket.Add(w);
        }
        else
        {
            w.TreeNode = _ranges.Insert(w.Key, w.End.Length == 0 ? null : w.End, w.Seq, w);
        }
        _syncedCount++;
        if (w.MinRev > _notifiedRev + 1)
        {
            w.Future = true;
            w.Sink.FutureCount++;
            _futures.Add(w);
        }
        SetState(w, WatcherState.Synced);
    }

    private void RemoveSynced(Watcher w)
    {
        if (w.End is null)
        {
            var bucket = _keys[w.Key];
            bucket.Remove(w);
            if (bucket.Count == 0) _keys.Remove(w.Key);
        }
        else
        {
            _ranges.Remove(w.TreeNode!);
            w.TreeNode = null;
        }
        _syncedCount--;
        if (w.Future)
        {
            w.Future = false;
            w.Sink.FutureCount--;
            _futures.Remove(w);
        }
    }

    private void AddUnsynced(Watcher w)
    {
        _unsynced.Add(w);
        SetState(w, WatcherState.Unsynced);
    }

    private void Detach(Watcher w)
    {
        switch (w.State)
        {
            case WatcherState.Synced: RemoveSynced(w); break;
            case WatcherState.Unsynced: _unsynced.Remove(w); break;
            case WatcherState.Victim:
                _victims.Remove(w);
                w.Pending = default;
                break;
        }
    }

    private void MakeVictim(Watcher w, WatchItem item)
    {
        RemoveSynced(w);
        w.Pending = item;
        _victims.Add(w);
        SetState(w, WatcherState.Victim);
        VictimTransitions++;
        if (item.EventCount > MaxVictimBatchEvents) MaxVictimBatchEvents = item.EventCount;
    }

    // ---- background loop ----

    /// <summary>Wakes the background loop (new unsynced watcher, compaction, a stream buffer drained).</summary>
    internal void Signal()
    {
        if (_signal.CurrentCount != 0) return;
        try { _signal.Release(); }
        catch (SemaphoreFullException) { }
        catch (ObjectDisposedException) { }
    }

    private async Task LoopAsync(CancellationToken ct)
    {
        bool more = false;
        while (!ct.IsCancellationRequested)
        {
            if (!more)
            {
                TimeSpan wait;
                lock (_mu) wait = _victims.Count > 0 ? _opt.VictimRetryInterval : _opt.SyncInterval;
                try { await _signal.WaitAsync(wait, ct).ConfigureAwait(false); }
                catch (OperationCanceledException) { break; }
            }
            else
            {
                await Task.Yield();
            }
            if (SyncPaused)
            {
                more = false;
                continue;
            }
            try
            {
                RetryVictims();
                more = SyncRound();
            }
            catch (Exception) when (!ct.IsCancellationRequested)
            {
                // A failed round (e.g. a compaction racing the read) is retried on the next tick.
                more = false;
            }
        }
    }

    internal void RetryVictims()
    {
        lock (_mu)
        {
            for (int i = _victims.Count - 1; i >= 0; i--)
            {
                if (i >= _victims.Count) continue;
                var w = _victims[i];
                if (!w.Sink.TrySend(w.Pending)) continue;
                w.Pending = default;
                _victims.Remove(w);
                if (w.MinRev > _notifiedRev) AddSynced(w);
                else AddUnsynced(w);
            }
        }
    }

    /// <summary>One catch-up round; returns true if it made progress and more remains.</summary>
    internal bool SyncRound()
    {
        Watcher[] chosen;
        long[] starts;
        int n = 0;
        long curRev, minRev = long.MaxValue;
        // Read from the store only outside our lock: the store may hold its own lock while calling OnWrite.
        // A compaction after this read makes ReadEvents throw, and the next round cancels.
        long compactRev = _src.CompactRevision;
        lock (_mu)
        {
            if (_unsynced.Count == 0) return false;
            curRev = _notifiedRev;
            int count = _unsynced.Count;
            int take = Math.Min(count, _opt.MaxWatchersPerSync);
            var picked = new Watcher[take];
            // Rotate the starting point so watchers beyond the first batch are not starved.
            int first = (int)(_syncCursor % count);
            for (int i = 0; i < take; i++) picked[i] = _unsynced[(first + i) % count];
            _syncCursor = first + take;
            chosen = new Watcher[take];
            starts = new long[take];
            foreach (var w in picked)
            {
                if (w.MinRev < compactRev)
                {
                    // Its history is gone: cancel it with the compact revision (retried if the buffer is full).
                    if (w.Sink.TrySend(new WatchItem(WatchItemKind.Compacted, w, null, compactRev)))
                    {
                        _unsynced.Remove(w);
                        SetState(w, WatcherState.Removed);
                    }
                    continue;
                }
                chosen[n] = w;
                starts[n] = w.MinRev;
                n++;
                if (w.MinRev < minRev) minRev = w.MinRev;
            }
        }
        if (n == 0) return false;

        var evs = _syncEvents;
        evs.Clear();
        long next = minRev;
        if (minRev <= curRev)
        {
            try { next = _src.ReadEvents(minRev, curRev, _opt.SyncBatchEvents, evs); }
            catch (RpcException) { return false; } // compacted meanwhile: the next round cancels
        }

        // Choose each watcher's events outside the lock (events are sorted by revision).
        var batches = new List<Event>?[n];
        for (int i = 0; i < n; i++)
        {
            var w = chosen[i];
            if (starts[i] >= next) continue;
            int lo = FirstAtOrAfter(evs, starts[i]);
            List<Event>? b = null;
            for (int k = lo; k < evs.Count; k++)
            {
                var ev = evs[k];
                if (!ByteKeys.InRange(ev.Kv.Key.Span, w.Key, w.End) || !w.Accepts(ev)) continue;
                (b ??= new List<Event>()).Add(ev);
            }
            batches[i] = b;
        }

        bool progressed = false;
        lock (_mu)
        {
            for (int i = 0; i < n; i++)
            {
                var w = chosen[i];
                if (w.State != WatcherState.Unsynced || w.MinRev != starts[i]) continue;
                long newMin = Math.Max(w.MinRev, next);
                var b = batches[i];
                if (b is not null && !w.Sink.TrySend(new WatchItem(WatchItemKind.Events, w, b, next - 1))) continue;
                if (newMin != w.MinRev) progressed = true;
                w.MinRev = newMin;
                if (w.MinRev > _notifiedRev)
                {
                    _unsynced.Remove(w);
                    AddSynced(w);
                }
            }
            evs.Clear();
            return progressed && _unsynced.Count > 0;
        }
    }

    private static int FirstAtOrAfter(List<Event> evs, long rev)
    {
        int lo = 0, hi = evs.Count;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (evs[mid].Kv.ModRevision < rev) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }

    /// <summary>Stops the background loop; watchers stop receiving events.</summary>
    public void Dispose()
    {
        lock (_mu)
        {
            if (_disposed) return;
            _disposed = true;
        }
        _cts.Cancel();
        try { _loop.Wait(TimeSpan.FromSeconds(5)); }
        catch (AggregateException) { }
        _cts.Dispose();
    }
}
