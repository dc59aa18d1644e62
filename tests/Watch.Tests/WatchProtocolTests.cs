using Cairn.Watch.Tests.Infra;
using Etcdserverpb;

namespace Cairn.Watch.Tests;

/// <summary>The per-stream protocol: created / canceled replies, ids, progress, fragments, compaction.</summary>
public class WatchProtocolTests
{
    [Fact]
    public async Task Created_comes_before_events_with_current_revision()
    {
        using var s = TestStore.Create();
        s.Put("a", "1");
        s.Put("a", "2");
        await using var h = new StreamHarness(s.Watchable);
        h.Create("a");
        var created = await h.WaitCreated(0);
        Assert.Equal(s.Revision, created.Header.Revision);
        Assert.False(created.Canceled);
        long r = s.Put("a", "3");
        var evs = await h.WaitEvents(0, 1);
        Assert.Equal(r, evs[0].Kv.ModRevision);
        var all = h.Snapshot();
        Assert.True(all[0].Created, "first response must be the created reply");

        // Historical watch: created first, then the replayed events.
        h.Create("a", startRev: 2, watchId: 7);
        await h.WaitEvents(7, 3);
        var mine = h.ResponsesOf(7);
        Assert.True(mine[0].Created);
        Assert.Equal(s.Revision, mine[0].Header.Revision);
        Assert.DoesNotContain(mine[0].Events, _ => true);
    }

    [Fact]
    public async Task Start_revision_zero_starts_after_current_revision()
    {
        using var s = TestStore.Create();
        s.Put("k", "old");
        await using var h = new StreamHarness(s.Watchable);
        h.Create("k");
        var created = await h.WaitCreated(0);
        long r = s.Put("k", "new");
        var evs = await h.WaitEvents(0, 1);
        Assert.Single(evs);
        Assert.Equal(r, evs[0].Kv.ModRevision);
        Assert.Equal(created.Header.Revision + 1, r);
    }

    [Fact]
    public async Task Client_chosen_ids_are_honoured_and_auto_ids_skip_them()
    {
        using var s = TestStore.Create();
        await using var h = new StreamHarness(s.Watchable);
        h.Create("a", watchId: 1);
        h.Create("b");
        h.Create("c");
        h.Create("d", watchId: 100);
        h.Create("e");
        await h.WaitFor(r => r.Created && r.WatchId == 3);
        var ids = h.Snapshot().Where(r => r.Created).Select(r => r.WatchId).ToList();
        Assert.Equal(new long[] { 1, 0, 2, 100, 3 }, ids);
        Assert.Equal(5, h.Stream.WatcherCount);
    }

    [Fact]
    public async Task Duplicate_id_is_rejected_like_etcd()
    {
        using var s = TestStore.Create();
        await using var h = new StreamHarness(s.Watchable);
        h.Create("a", watchId: 5);
        h.Create("b", watchId: 5);
        var dup = await h.WaitFor(r => r.Canceled);
        Assert.True(dup.Created);
        Assert.Equal(-1, dup.WatchId);
        Assert.Equal("mvcc: duplicate watch ID provided on the WatchStream", dup.CancelReason);
        Assert.Equal(1, h.Stream.WatcherCount);
        // The first watch still works and only it sees the key "a".
        s.Put("a", "x");
        s.Put("b", "x");
        var evs = await h.WaitEvents(5, 1);
        Assert.Equal("a", evs[0].Kv.Key.ToStringUtf8());
    }

    [Fact]
    public async Task Invalid_range_is_rejected_like_etcd()
    {
        using var s = TestStore.Create();
        await using var h = new StreamHarness(s.Watchable);
        h.Create("b", end: "a");
        h.Create("b", end: "b");
        await h.WaitFor(r => r.Canceled, from: 1);
        foreach (var r in h.Snapshot())
        {
            Assert.True(r.Created);
            Assert.True(r.Canceled);
            Assert.Equal(-1, r.WatchId);
            Assert.Equal("mvcc: watcher range is empty", r.CancelReason);
        }
        Assert.Equal(0, h.Stream.WatcherCount);
    }

    [Fact]
    public async Task Cancel_replies_and_stops_events_unknown_id_is_ignored()
    {
        using var s = TestStore.Create();
        await using var h = new StreamHarness(s.Watchable);
        h.Create("a");
        await h.WaitCreated(0);
        s.Put("a", "1");
        await h.WaitEvents(0, 1);
        h.Cancel(0);
        var c = await h.WaitFor(r => r.Canceled);
        Assert.Equal(0, c.WatchId);
        Assert.False(c.Created);
        Assert.Equal(0, s.Watchable.SyncedCount);
        s.Put("a", "2");
        // Unknown id: no reply at all (etcd); the next reply is the progress response.
        int before = h.Snapshot().Count;
        h.Cancel(42);
        h.RequestProgress();
        var p = await h.WaitFor(r => r.WatchId == -1, from: before);
        Assert.Equal(before + 1, h.Snapshot().Count);
        Assert.Equal(s.Revision, p.Header.Revision);
        Assert.Single(h.EventsOf(0));
    }

    [Fact]
    public async Task Progress_notify_is_sent_per_idle_synced_watch_with_its_id()
    {
        using var s = TestStore.Create();
        s.Put("a", "1");
        await using var h = new StreamHarness(s.Watchable, new WatchStreamOptions { ProgressNotifyInterval = TimeSpan.FromMilliseconds(150) });
        h.Create("a", watchId: 3, progressNotify: true);
        h.Create("b", watchId: 4);
        var p = await h.WaitFor(r => r.WatchId == 3 && !r.Created && r.Events.Count == 0);
        Assert.Equal(s.Revision, p.Header.Revision);
        Assert.False(p.Canceled);
        await Task.Delay(400);
        Assert.DoesNotContain(h.Snapshot(), r => r.WatchId == 4 && !r.Created);
    }

    [Fact]
    public async Task Progress_notify_is_elided_while_the_watch_receives_events()
    {
        using var s = TestStore.Create();
        await using var h = new StreamHarness(s.Watchable, new WatchStreamOptions { ProgressNotifyInterval = TimeSpan.FromMilliseconds(250) });
        h.Create("a", watchId: 1, progressNotify: true);
        await h.WaitCreated(1);
        var until = DateTime.UtcNow.AddMilliseconds(1200);
        int i = 0;
        while (DateTime.UtcNow < until)
        {
            s.Put("a", "v" + i++);
            await Task.Delay(15);
        }
        await h.WaitEvents(1, i);
        Assert.DoesNotContain(h.ResponsesOf(1), r => !r.Created && r.Events.Count == 0);
        // Idle again: the notification comes back, at the last revision.
        var p = await h.WaitFor(r => r.WatchId == 1 && !r.Created && r.Events.Count == 0);
        Assert.Equal(s.Revision, p.Header.Revision);
    }

    [Fact]
    public async Task Progress_request_is_answered_with_id_minus_one_when_all_synced()
    {
        using var s = TestStore.Create();
        s.Put("a", "1");
        int barrierCalls = 0;
        await using var h = new StreamHarness(s.Watchable, new WatchStreamOptions
        {
            Barrier = _ => { Interlocked.Increment(ref barrierCalls); return ValueTask.CompletedTask; },
            HeaderFactory = () => new ResponseHeader { ClusterId = 11, MemberId = 22, RaftTerm = 33 },
        });
        h.RequestProgress(); // no watchers: answered at once
        var p0 = await h.WaitFor(r => r.WatchId == -1);
        Assert.Equal(s.Revision, p0.Header.Revision);
        Assert.Equal(11ul, p0.Header.ClusterId);
        Assert.Equal(22ul, p0.Header.MemberId);
        Assert.Equal(33ul, p0.Header.RaftTerm);
        h.Create("a");
        await h.WaitCreated(0);
        long r2 = s.Put("a", "2");
        await h.WaitEvents(0, 1);
        int n = h.Snapshot().Count;
        h.RequestProgress();
        var p1 = await h.WaitFor(r => r.WatchId == -1, from: n);
        Assert.Equal(r2, p1.Header.Revision);
        Assert.Equal(3, barrierCalls); // two progress requests and one create at revision 0
    }

    [Fact]
    public async Task Barrier_runs_before_the_start_revision_of_a_watch_from_now_is_chosen()
    {
        // The barrier stands for ReadIndex: writes it waits for are already in the store when the
        // watch's start is chosen, so a watch "from now" does not report them.
        using var s = TestStore.Create();
        long appliedInBarrier = 0;
        await using var h = new StreamHarness(s.Watchable, new WatchStreamOptions
        {
            Barrier = async ct => { await Task.Delay(20, ct); appliedInBarrier = s.Put("k", "applied-during-read-index"); },
        });
        h.Create("k", watchId: 1);
        var created = await h.WaitCreated(1);
        Assert.Equal(appliedInBarrier, created.Header.Revision);
        long next = s.Put("k", "after");
        var evs = await h.WaitEvents(1, 1);
        await Task.Delay(50);
        Assert.Single(h.EventsOf(1));
        Assert.Equal(next, evs[0].Kv.ModRevision);
    }

    [Fact]
    public async Task Progress_request_is_deferred_until_every_watch_is_synced()
    {
        using var s = TestStore.Create();
        for (int i = 0; i < 20; i++) s.Put("k" + i % 3, "v" + i);
        s.Watchable.SyncPaused = true;
        await using var h = new StreamHarness(s.Watchable);
        h.Create("k1", startRev: 2);
        await h.WaitCreated(0);
        h.RequestProgress();
        await Task.Delay(300);
        Assert.DoesNotContain(h.Snapshot(), r => r.WatchId == -1);
        s.Watchable.SyncPaused = false;
        var p = await h.WaitFor(r => r.WatchId == -1);
        var all = h.Snapshot();
        int at = all.IndexOf(p);
        // Bookmark: every event of the watch up to the progress revision came before it.
        var expected = s.Model.Expected(2, "k1", null, toRev: p.Header.Revision);
        WatchChecker.Check(all.Take(at + 1).Where(r => r.WatchId == 0 || r.WatchId == -1).Select(r => r.WatchId == -1 ? new WatchResponse { Header = r.Header } : r).ToList(), expected);
    }

    [Fact]
    public async Task Negative_start_revision_is_refused_as_compacted_like_etcd()
    {
        using var s = TestStore.Create();
        await using var h = new StreamHarness(s.Watchable);
        h.Create("a", startRev: -5);
        var r = await h.WaitFor(x => x.Canceled);
        Assert.True(r.Created);
        Assert.Equal(-1, r.WatchId);
        Assert.Equal("etcdserver: mvcc: required revision has been compacted", r.CancelReason);
        Assert.Equal(0, h.Stream.WatcherCount);
    }

    [Fact]
    public async Task A_watch_whose_start_revision_is_ahead_gets_no_progress_until_the_store_reaches_it()
    {
        using var s = TestStore.Create();
        s.Put("a", "1");
        long start = s.Revision + 3;
        await using var h = new StreamHarness(s.Watchable, new WatchStreamOptions { ProgressNotifyInterval = TimeSpan.FromMilliseconds(50) });
        h.Create("a", startRev: start, watchId: 1, progressNotify: true);
        await h.WaitCreated(1);
        h.RequestProgress();
        await Task.Delay(300);
        Assert.Single(h.Snapshot()); // only "created": neither the stream-wide nor the per-watch progress
        s.Put("b", "1");
        await Task.Delay(100);
        Assert.Single(h.Snapshot());
        s.Put("b", "2"); // now the store is at start - 1: a resume from here starts where the client asked
        var p = await h.WaitFor(r => r.WatchId == -1);
        Assert.Equal(start - 1, p.Header.Revision);
        await h.WaitFor(r => r.WatchId == 1 && !r.Created);
        long r1 = s.Put("a", "2");
        Assert.Equal(start, r1);
        var evs = await h.WaitEvents(1, 1);
        Assert.Equal(start, evs[0].Kv.ModRevision);
    }

    [Fact]
    public async Task Fragment_splits_large_responses_only_when_asked()
    {
        using var s = TestStore.Create();
        await using var h = new StreamHarness(s.Watchable, new WatchStreamOptions { MaxRequestBytes = 400, GrpcOverheadBytes = 0 });
        h.Create("f", end: "g", watchId: 1, fragment: true);
        h.Create("f", end: "g", watchId: 2);
        await h.WaitCreated(2);
        var ops = Enumerable.Range(0, 10).Select(i => Op.Put("f" + i, new string('x', 60))).ToArray();
        long rev = s.Write(ops);
        await h.WaitEvents(1, 10);
        await h.WaitEvents(2, 10);
        var frag = h.ResponsesOf(1).Where(r => !r.Created).ToList();
        Assert.True(frag.Count > 1, "expected several fragments");
        for (int i = 0; i < frag.Count; i++)
        {
            Assert.Equal(i < frag.Count - 1, frag[i].Fragment);
            Assert.True(frag[i].Events.Count == 1 || frag[i].CalculateSize() < 400, "a multi-event fragment stays below the limit");
        }
        var whole = h.ResponsesOf(2).Where(r => !r.Created).ToList();
        Assert.Single(whole);
        Assert.False(whole[0].Fragment);
        WatchChecker.Check(frag, s.Model.Expected(rev, "f", "g"));
        WatchChecker.Check(whole, s.Model.Expected(rev, "f", "g"));
    }

    [Fact]
    public async Task Fragment_threshold_with_defaults_matches_etcd()
    {
        // etcd 3.4.23, checked: four 600 000-byte values deleted in one revision, watched with prev_kv:
        // with fragment -> [3 events, fragment=true] then [1 event]; without -> one 2.4 MB response.
        using var s = TestStore.Create();
        var big = new string('x', 600_000);
        foreach (var k in new[] { "f1", "f2", "f3", "f4" }) s.Put(k, big);
        await using var h = new StreamHarness(s.Watchable);
        h.Create("f", "g", watchId: 1, prevKv: true, fragment: true);
        h.Create("f", "g", watchId: 2, prevKv: true);
        await h.WaitCreated(2);
        s.Delete("f", "g");
        await h.WaitEvents(1, 4);
        await h.WaitEvents(2, 4);
        var frag = h.ResponsesOf(1).Where(r => !r.Created).ToList();
        Assert.Equal([3, 1], frag.Select(r => r.Events.Count));
        Assert.Equal([true, false], frag.Select(r => r.Fragment));
        var whole = h.ResponsesOf(2).Where(r => !r.Created).ToList();
        Assert.Single(whole);
        Assert.Equal(4, whole[0].Events.Count);
        Assert.All(frag.SelectMany(r => r.Events), e => Assert.Equal(600_000, e.PrevKv.Value.Length));
    }

    [Fact]
    public async Task Create_at_compacted_revision_is_created_then_canceled_with_compact_revision()
    {
        using var s = TestStore.Create();
        for (int i = 0; i < 10; i++) s.Put("c", "v" + i);
        s.Compact(8);
        await using var h = new StreamHarness(s.Watchable);
        h.Create("c", startRev: 3, watchId: 9);
        var c = await h.WaitFor(r => r.WatchId == 9 && r.Canceled);
        var mine = h.ResponsesOf(9);
        Assert.True(mine[0].Created);
        Assert.False(mine[0].Canceled);
        Assert.Same(c, mine[1]);
        Assert.Equal(8, c.CompactRevision);
        Assert.Empty(c.Events);
        Assert.Equal(0, s.Watchable.UnsyncedCount);
        // At the compact revision itself the history is still there.
        h.Create("c", startRev: 8, watchId: 10);
        var evs = await h.WaitEvents(10, 4);
        WatchChecker.Check(h.ResponsesOf(10), s.Model.Expected(8, "c", null));
    }

    [Fact]
    public async Task A_compaction_canceled_id_stays_taken_until_the_client_cancels_it_like_etcd()
    {
        // etcd 3.4.23, checked: create(id 4, compacted) -> created, canceled+compact_revision;
        // create(id 4) again -> duplicate id; cancel(4) -> canceled reply.
        using var s = TestStore.Create();
        for (int i = 0; i < 5; i++) s.Put("a", "v" + i);
        s.Compact(s.Revision);
        await using var h = new StreamHarness(s.Watchable);
        h.Create("a", startRev: 2, watchId: 4);
        await h.WaitFor(r => r.WatchId == 4 && r.Canceled);
        h.Create("a", watchId: 4);
        var dup = await h.WaitFor(r => r.WatchId == -1);
        Assert.Equal(WatchStream.DuplicateIdReason, dup.CancelReason);
        int n = h.Snapshot().Count;
        h.Cancel(4);
        var c = await h.WaitFor(r => r.WatchId == 4 && r.Canceled, from: n);
        Assert.False(c.Created);
        Assert.Equal(0, c.CompactRevision);
        Assert.Equal(0, h.Stream.WatcherCount);
    }

    [Fact]
    public async Task Behind_watcher_is_canceled_when_its_history_is_compacted()
    {
        using var s = TestStore.Create();
        s.Put("x", "0");
        s.Watchable.SyncPaused = true;
        await using var h = new StreamHarness(s.Watchable);
        h.Create("x", startRev: 2, watchId: 1);
        await h.WaitCreated(1);
        for (int i = 0; i < 5; i++) s.Put("x", "v" + i);
        s.Compact(5);
        s.Watchable.SyncPaused = false;
        var c = await h.WaitFor(r => r.WatchId == 1 && r.Canceled);
        Assert.Equal(5, c.CompactRevision);
        Assert.Empty(h.EventsOf(1));
    }

    [Fact]
    public async Task Stream_end_removes_all_its_watchers()
    {
        using var s = TestStore.Create();
        s.Put("a", "1");
        var h = new StreamHarness(s.Watchable);
        h.Create("a");
        h.Create("a", end: "z");
        h.Create("a", startRev: 2);
        s.Watchable.SyncPaused = true;
        h.Create("a", startRev: 2);
        await h.WaitCreated(3);
        Assert.Equal(4, h.Stream.WatcherCount);
        await h.DisposeAsync();
        Assert.True(h.Run.IsCompletedSuccessfully);
        Assert.Equal(0, s.Watchable.SyncedCount);
        Assert.Equal(0, s.Watchable.UnsyncedCount);
        Assert.Equal(0, s.Watchable.VictimCount);
        Assert.Equal(0, h.Stream.WatcherCount);
    }

    [Fact]
    public async Task Client_half_close_keeps_the_stream_open_like_etcd()
    {
        using var s = TestStore.Create();
        await using var h = new StreamHarness(s.Watchable);
        h.Create("a");
        await h.WaitCreated(0);
        h.CompleteRequests();
        await Task.Delay(100);
        s.Put("a", "1");
        await h.WaitEvents(0, 1);
        Assert.False(h.Run.IsCompleted);
    }

    [Fact]
    public async Task Send_failure_ends_the_stream_and_removes_watchers()
    {
        using var s = TestStore.Create();
        var stream = new WatchStream(s.Watchable);
        var requests = System.Threading.Channels.Channel.CreateUnbounded<WatchRequest>();
        requests.Writer.TryWrite(new WatchRequest { CreateRequest = new WatchCreateRequest { Key = Google.Protobuf.ByteString.CopyFromUtf8("a") } });
        int sends = 0;
        var run = stream.RunAsync(requests.Reader.ReadAllAsync(), (r, ct) =>
        {
            if (++sends == 2) throw new IOException("client gone");
            return ValueTask.CompletedTask;
        }, CancellationToken.None);
        while (s.Watchable.SyncedCount == 0 && !run.IsCompleted) await Task.Delay(10);
        s.Put("a", "1");
        await Assert.ThrowsAsync<IOException>(() => run.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(0, s.Watchable.SyncedCount);
    }

    [Fact]
    public async Task Buffered_send_flushes_once_the_queue_is_drained()
    {
        using var s = TestStore.Create();
        var stream = new WatchStream(s.Watchable);
        var requests = System.Threading.Channels.Channel.CreateUnbounded<WatchRequest>();
        for (int i = 0; i < 20; i++)
            requests.Writer.TryWrite(new WatchRequest { CreateRequest = new WatchCreateRequest { Key = Google.Protobuf.ByteString.CopyFromUtf8("a") } });
        var buffered = new List<WatchResponse>();
        var flushed = new List<WatchResponse>();
        int flushes = 0;
        var gate = new Lock();
        using var cts = new CancellationTokenSource();
        var run = stream.RunAsync(requests.Reader.ReadAllAsync(), (r, ct) =>
        {
            lock (gate) buffered.Add(r);
            return ValueTask.CompletedTask;
        }, ct =>
        {
            lock (gate)
            {
                flushes++;
                flushed.AddRange(buffered);
                buffered.Clear();
            }
            return ValueTask.CompletedTask;
        }, cts.Token);
        while (s.Watchable.SyncedCount < 20 && !run.IsCompleted) await Task.Delay(10);
        for (int i = 0; i < 50; i++) s.Put("a", i.ToString());
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (DateTime.UtcNow < deadline)
        {
            lock (gate) if (flushed.Count(r => r.Events.Count > 0) >= 20 * 50 || flushed.Sum(r => r.Events.Count) >= 20 * 50) break;
            await Task.Delay(10);
        }
        cts.Cancel();
        await run.WaitAsync(TimeSpan.FromSeconds(10));
        lock (gate)
        {
            Assert.Empty(buffered); // nothing left unflushed once the queue emptied
            Assert.Equal(20, flushed.Count(r => r.Created));
            Assert.Equal(20 * 50, flushed.Sum(r => r.Events.Count));
            Assert.True(flushes <= flushed.Count, $"{flushes} flushes for {flushed.Count} responses");
            // Per watch, events stay in revision order.
            foreach (var g in flushed.Where(r => r.Events.Count > 0).GroupBy(r => r.WatchId))
            {
                var revs = g.SelectMany(r => r.Events).Select(e => e.Kv.ModRevision).ToList();
                Assert.Equal(revs.OrderBy(x => x), revs);
            }
        }
    }
}
