using Cairn.Watch.Tests.Infra;
using Etcdserverpb;
using Mvccpb;

namespace Cairn.Watch.Tests;

/// <summary>
/// One test per etcd watch guarantee (ordered, unique, atomic, reliable, resumable, bookmarkable,
/// prev_kv, is-create, filter). Each drives the store and checks every response with <see cref="WatchChecker"/>.
/// </summary>
public class WatchGuaranteeTests
{
    private static async Task<long> WriteConcurrently(TestStore s, int count, int seed, int yieldEvery = 50)
    {
        return await Task.Run(async () =>
        {
            var rnd = new Random(seed);
            long rev = 0;
            for (int i = 0; i < count; i++)
            {
                rev = s.Write(Workload.RandomWrite(rnd));
                if (i % yieldEvery == 0) await Task.Yield();
            }
            return rev;
        });
    }

    [Fact]
    public async Task Ordered_events_never_go_back_even_for_a_watcher_that_falls_behind()
    {
        using var s = TestStore.Create(new WatchableStoreOptions { SyncBatchEvents = 16 });
        // A tiny buffer and a slow client make the watcher a victim, then unsynced, repeatedly.
        await using var h = new StreamHarness(s.Watchable, new WatchStreamOptions { SendBufferSize = 2 },
            async (_, ct) => await Task.Delay(1, ct));
        var w = await Workload.Create(h, new WatchSpec("\0", "\0"), 1);
        await WriteConcurrently(s, 1500, seed: 1);
        await Workload.CheckAll(h, s.Model, [w]);
        Assert.True(s.Watchable.VictimTransitions > 0, "the slow path was not exercised");
        var revs = h.EventsOf(1).Select(e => e.Kv.ModRevision).ToList();
        Assert.Equal(revs.OrderBy(r => r), revs);
    }

    [Fact]
    public async Task Unique_no_event_twice_when_watches_are_created_during_writes()
    {
        using var s = TestStore.Create(new WatchableStoreOptions { SyncBatchEvents = 10 });
        await using var h = new StreamHarness(s.Watchable);
        var rnd = new Random(2);
        bool stop = false;
        // Writes keep coming until every watch has been created in the middle of them.
        var writer = Task.Run(async () =>
        {
            var wr = new Random(3);
            for (int i = 0; (!Volatile.Read(ref stop) || i < 500) && i < 6000; i++)
            {
                s.Write(Workload.RandomWrite(wr));
                if (i % 10 == 0) await Task.Delay(1);
            }
        });
        var watches = new List<ActiveWatch>();
        for (long id = 1; id <= 40; id++)
        {
            var spec = Workload.Specs[rnd.Next(Workload.Specs.Length)];
            long start = rnd.Next(2) == 0 ? 0 : 1 + rnd.Next((int)Math.Max(1, s.Revision));
            watches.Add(await Workload.Create(h, spec, id, start));
            await Task.Delay(rnd.Next(3));
        }
        Volatile.Write(ref stop, true);
        await writer;
        await Workload.CheckAll(h, s.Model, watches);
        foreach (var w in watches)
        {
            var evs = h.EventsOf(w.Id);
            Assert.Equal(evs.Count, evs.Select(e => (e.Kv.ModRevision, e.Kv.Key.ToStringUtf8())).Distinct().Count());
        }
    }

    [Fact]
    public async Task Atomic_a_revision_is_never_split_across_responses()
    {
        // Small catch-up batches force history replay to cut between revisions.
        using var s = TestStore.Create(new WatchableStoreOptions { SyncBatchEvents = 3 });
        var rnd = new Random(4);
        for (int i = 0; i < 300; i++)
            s.Write(Workload.Keys.OrderBy(_ => rnd.Next()).Take(1 + rnd.Next(6)).Select(k => Op.Put(k, "v" + i)).ToArray());
        await using var h = new StreamHarness(s.Watchable, new WatchStreamOptions { SendBufferSize = 3 });
        var hist = await Workload.Create(h, new WatchSpec("k0", "k9\x01"), 1, startRev: 2);
        var live = await Workload.Create(h, new WatchSpec("k2", "k6"), 2);
        for (int i = 0; i < 100; i++)
            s.Write(Workload.Keys.OrderBy(_ => rnd.Next()).Take(2 + rnd.Next(5)).Select(k => Op.Put(k, "w" + i)).ToArray());
        await Workload.CheckAll(h, s.Model, [hist, live]);
        foreach (var id in new long[] { 1, 2 })
        {
            var byRev = new Dictionary<long, int>();
            var rs = h.ResponsesOf(id);
            for (int i = 0; i < rs.Count; i++)
                foreach (var ev in rs[i].Events)
                    Assert.Equal(i, byRev.TryAdd(ev.Kv.ModRevision, i) ? i : byRev[ev.Kv.ModRevision]);
        }
    }

    [Fact]
    public async Task Reliable_every_matching_event_is_delivered_without_gaps()
    {
        using var s = TestStore.Create(new WatchableStoreOptions { SyncBatchEvents = 50 });
        for (int i = 0; i < 200; i++) s.Write(Workload.RandomWrite(new Random(i)));
        await using var h = new StreamHarness(s.Watchable, new WatchStreamOptions { SendBufferSize = 8 });
        var watches = new List<ActiveWatch>();
        long id = 0;
        foreach (var spec in Workload.Specs)
        {
            watches.Add(await Workload.Create(h, spec, ++id));
            watches.Add(await Workload.Create(h, spec, ++id, startRev: 2));
            watches.Add(await Workload.Create(h, spec, ++id, startRev: 150));
        }
        await WriteConcurrently(s, 2000, seed: 5);
        await Workload.CheckAll(h, s.Model, watches);
    }

    [Fact]
    public async Task Resumable_a_new_watch_from_last_revision_plus_one_continues_exactly()
    {
        using var s = TestStore.Create();
        var spec = new WatchSpec("k1", "k8");
        var received = new List<WatchResponse>();
        long next = 0;
        var rnd = new Random(6);
        long firstStart = 0;
        for (int round = 0; round < 5; round++)
        {
            var h = new StreamHarness(s.Watchable);
            var w = await Workload.Create(h, spec, 1, next);
            if (round == 0) firstStart = w.StartRev;
            for (int i = 0; i < 100; i++) s.Write(Workload.RandomWrite(rnd));
            // Take what has arrived so far, at a response boundary, and drop the stream.
            await h.WaitEvents(1, 1);
            await h.DisposeAsync();
            var mine = h.ResponsesOf(1).Where(r => r.Events.Count > 0).ToList();
            received.AddRange(mine);
            next = mine[^1].Events[^1].Kv.ModRevision + 1;
        }
        var all = s.Model.Expected(firstStart, spec.Key, spec.End);
        var upTo = all.Where(e => e.Kv.ModRevision < next).ToList();
        WatchChecker.Check(received, upTo);
        Assert.True(upTo.Count > 100);
    }

    [Fact]
    public async Task Bookmarkable_after_a_progress_notify_at_r_every_event_up_to_r_was_delivered()
    {
        using var s = TestStore.Create(new WatchableStoreOptions { SyncBatchEvents = 20 });
        await using var h = new StreamHarness(s.Watchable, new WatchStreamOptions { ProgressNotifyInterval = TimeSpan.FromMilliseconds(5), SendBufferSize = 4 },
            async (_, ct) => { if (Random.Shared.Next(20) == 0) await Task.Delay(2, ct); });
        var a = await Workload.Create(h, new WatchSpec("k3", ProgressNotify: true), 1);
        var b = await Workload.Create(h, new WatchSpec("k0", "k5", ProgressNotify: true), 2);
        var c = await Workload.Create(h, new WatchSpec("\0", "\0", ProgressNotify: true), 3, startRev: 2);
        // Interleave writes, pauses and progress requests so bookmarks land at many points of the history.
        await Task.Run(async () =>
        {
            var rnd = new Random(7);
            for (int i = 0; i < 1500; i++)
            {
                s.Write(Workload.RandomWrite(rnd));
                if (i % 10 == 0) h.RequestProgress();
                if (i % 15 == 0) await Task.Delay(1);
            }
        });
        await Workload.CheckAll(h, s.Model, [a, b, c]);
        h.RequestProgress();
        await h.WaitFor(r => r.WatchId == -1 && r.Header.Revision == s.Revision);
        // Stream-wide progress responses (-1) are bookmarks for every watch of the stream.
        var all = h.Snapshot();
        foreach (var w in new[] { a, b, c })
        {
            var seq = all.Where(r => r.WatchId == w.Id || r.WatchId == -1).ToList();
            Workload.Check(seq, s.Model, w);
        }
        Assert.True(all.Count(r => r.WatchId == -1) > 1);
        Assert.Contains(all, r => r.WatchId > 0 && r.Events.Count == 0 && !r.Created && !r.Canceled);
    }

    [Fact]
    public async Task PrevKv_is_the_previous_version_of_the_key()
    {
        using var s = TestStore.Create();
        var rnd = new Random(8);
        for (int i = 0; i < 100; i++) s.Write(Workload.RandomWrite(rnd));
        await using var h = new StreamHarness(s.Watchable);
        var live = await Workload.Create(h, new WatchSpec("\0", "\0", PrevKv: true), 1);
        var hist = await Workload.Create(h, new WatchSpec("k0", "k6", PrevKv: true), 2, startRev: 2);
        var plain = await Workload.Create(h, new WatchSpec("\0", "\0"), 3);
        for (int i = 0; i < 300; i++) s.Write(Workload.RandomWrite(rnd));
        await Workload.CheckAll(h, s.Model, [live, hist, plain]);
        var evs = h.EventsOf(1);
        Assert.Contains(evs, e => e.Type == Event.Types.EventType.Delete && e.PrevKv is not null);
        Assert.Contains(evs, e => e.Type == Event.Types.EventType.Put && e.PrevKv is not null);
        Assert.Contains(evs, e => e.Type == Event.Types.EventType.Put && e.PrevKv is null);
    }

    [Fact]
    public async Task PrevKv_is_omitted_when_the_previous_version_was_compacted()
    {
        using var s = TestStore.Create();
        s.Put("p", "1");
        s.Put("p", "2");
        long r = s.Put("p", "3");
        s.Compact(r);
        await using var h = new StreamHarness(s.Watchable);
        h.Create("p", startRev: r, watchId: 1, prevKv: true);
        var evs = await h.WaitEvents(1, 1);
        Assert.Null(evs[0].PrevKv);
        long r2 = s.Put("p", "4");
        evs = await h.WaitEvents(1, 2);
        Assert.Equal("3", evs[1].PrevKv.Value.ToStringUtf8());
        Assert.Equal(r, evs[1].PrevKv.ModRevision);
    }

    [Fact]
    public async Task IsCreate_create_revision_equals_mod_revision_exactly_for_creations()
    {
        using var s = TestStore.Create();
        await using var h = new StreamHarness(s.Watchable);
        var w = await Workload.Create(h, new WatchSpec("i"), 1);
        long c1 = s.Put("i", "a");
        s.Put("i", "b");
        s.Delete("i");
        long c2 = s.Put("i", "c");
        s.Put("i", "d");
        var evs = await h.WaitEvents(1, 5);
        Workload.Check(h.ResponsesOf(1), s.Model, w);
        Assert.Equal(c1, evs[0].Kv.CreateRevision);
        Assert.Equal(evs[0].Kv.ModRevision, evs[0].Kv.CreateRevision);
        Assert.NotEqual(evs[1].Kv.ModRevision, evs[1].Kv.CreateRevision);
        Assert.Equal(Event.Types.EventType.Delete, evs[2].Type);
        Assert.Equal(c2, evs[3].Kv.CreateRevision);
        Assert.Equal(evs[3].Kv.ModRevision, evs[3].Kv.CreateRevision);
        Assert.Equal(1, evs[3].Kv.Version);
        Assert.Equal(c2, evs[4].Kv.CreateRevision);
        Assert.Equal(2, evs[4].Kv.Version);
    }

    [Fact]
    public async Task Filter_noput_and_nodelete_drop_exactly_those_events_and_empty_responses()
    {
        using var s = TestStore.Create();
        await using var h = new StreamHarness(s.Watchable);
        var noPut = await Workload.Create(h, new WatchSpec("k0", "k9\x01", NoPut: true), 1);
        var noDel = await Workload.Create(h, new WatchSpec("k0", "k9\x01", NoDelete: true), 2);
        var both = await Workload.Create(h, new WatchSpec("k0", "k9\x01", NoPut: true, NoDelete: true), 3);
        var noPutHist = await Workload.Create(h, new WatchSpec("k0", "k9\x01", NoPut: true), 4, startRev: 2);
        var rnd = new Random(9);
        for (int i = 0; i < 400; i++) s.Write(Workload.RandomWrite(rnd));
        await Workload.CheckAll(h, s.Model, [noPut, noDel, noPutHist]);
        await Task.Delay(100);
        foreach (var r in h.Snapshot())
            Assert.True(r.Created || r.Events.Count > 0, "a response with no events after filtering was sent");
        Assert.DoesNotContain(h.Snapshot(), r => r.WatchId == 3 && !r.Created);
        Assert.All(h.EventsOf(1), e => Assert.Equal(Event.Types.EventType.Delete, e.Type));
        Assert.All(h.EventsOf(2), e => Assert.Equal(Event.Types.EventType.Put, e.Type));
    }

    [Fact]
    public async Task Watch_from_a_historical_revision_replays_exactly_the_history()
    {
        using var s = TestStore.Create(new WatchableStoreOptions { SyncBatchEvents = 64 });
        var rnd = new Random(10);
        for (int i = 0; i < 600; i++) s.Write(Workload.RandomWrite(rnd));
        await using var h = new StreamHarness(s.Watchable);
        var watches = new List<ActiveWatch>();
        long id = 0;
        foreach (long start in new long[] { 1, 2, 17, 300, s.Revision, s.Revision + 1, s.Revision + 5 })
            watches.Add(await Workload.Create(h, new WatchSpec("\0", "\0"), ++id, start));
        for (int i = 0; i < 20; i++) s.Write(Workload.RandomWrite(rnd));
        await Workload.CheckAll(h, s.Model, watches);
        Assert.Equal(s.Model.Expected(1, "\0", "\0").Count, h.EventsOf(1).Count);
    }
}
