using Cairn.Watch.Tests.Infra;
using Etcdserverpb;

namespace Cairn.Watch.Tests;

/// <summary>The watchable store's own properties: cost of notify, lifecycle, concurrency.</summary>
public class StoreTests
{
    private sealed class CountingSink : WatchSink
    {
        public int Items;
        internal override bool TrySend(in WatchItem item) { Items++; return true; }
        internal override void SendProgressAll(long revision) { }
    }

    [Fact]
    public void Notify_visits_only_the_matching_watchers()
    {
        using var s = TestStore.Create();
        var sink = new CountingSink();
        for (int i = 0; i < 20_000; i++)
            s.Watchable.Add(new Watcher(i, System.Text.Encoding.ASCII.GetBytes($"key{i:D6}"), null, s.Revision + 1, WatchFlags.None, sink));
        for (int i = 0; i < 5_000; i++)
        {
            var start = System.Text.Encoding.ASCII.GetBytes($"range{i:D5}/");
            var end = System.Text.Encoding.ASCII.GetBytes($"range{i:D5}0");
            s.Watchable.Add(new Watcher(100_000 + i, start, end, s.Revision + 1, WatchFlags.None, sink));
        }
        // Three watchers match "key000042": its own single-key watcher, ["key", "kez") and [key000042, ∞).
        s.Watchable.Add(new Watcher(1, "key"u8.ToArray(), "kez"u8.ToArray(), s.Revision + 1, WatchFlags.None, sink));
        s.Watchable.Add(new Watcher(2, "key000042"u8.ToArray(), [], s.Revision + 1, WatchFlags.None, sink));
        long before = s.Watchable.NotifyVisits;
        s.Put("key000042", "v");
        Assert.Equal(3, s.Watchable.NotifyVisits - before);
        Assert.Equal(3, sink.Items);
        before = s.Watchable.NotifyVisits;
        s.Put("range01234/x", "v"); // its range, and watcher 2 (every key >= key000042)
        Assert.Equal(2, s.Watchable.NotifyVisits - before);
        before = s.Watchable.NotifyVisits;
        s.Put("a-key-nobody-watches", "v");
        Assert.Equal(0, s.Watchable.NotifyVisits - before);
    }

    [Fact]
    public void Dispose_stops_the_background_loop()
    {
        var s = TestStore.Create();
        var loop = s.Watchable.LoopTask;
        Assert.False(loop.IsCompleted);
        s.Dispose();
        Assert.True(loop.IsCompleted);
        s.Put("a", "after dispose is ignored by the watchable store");
    }

    [Fact]
    public async Task Many_streams_creating_cancelling_and_writing_concurrently_keep_every_guarantee()
    {
        using var s = TestStore.Create(new WatchableStoreOptions { SyncBatchEvents = 25 });
        int streamsCreating = 4;
        // Writes keep coming until every stream has created (and cancelled) its watches among them.
        var writer = Task.Run(async () =>
        {
            var rnd = new Random(21);
            for (int i = 0; (Volatile.Read(ref streamsCreating) > 0 || i < 1000) && i < 6000; i++)
            {
                s.Write(Workload.RandomWrite(rnd));
                if (i % 10 == 0) await Task.Delay(1);
            }
        });
        var streams = Enumerable.Range(0, 4).Select(i => Task.Run(async () =>
        {
            var rnd = new Random(100 + i);
            await using var h = new StreamHarness(s.Watchable, new WatchStreamOptions { SendBufferSize = 2 + i * 4 },
                i % 2 == 0 ? async (_, ct) => { if (rnd.Next(10) == 0) await Task.Delay(1, ct); } : null);
            var live = new List<ActiveWatch>();
            var canceled = new List<ActiveWatch>();
            for (long id = 1; id <= 20;)
            {
                var spec = Workload.Specs[rnd.Next(Workload.Specs.Length)];
                live.Add(await Workload.Create(h, spec, id++, rnd.Next(3) == 0 ? 1 + rnd.Next((int)s.Revision) : 0));
                if (live.Count > 6)
                {
                    var c = live[rnd.Next(live.Count)];
                    live.Remove(c);
                    h.Cancel(c.Id);
                    await h.WaitFor(r => r.WatchId == c.Id && r.Canceled);
                    canceled.Add(c);
                }
                await Task.Delay(rnd.Next(5));
            }
            Interlocked.Decrement(ref streamsCreating);
            await writer;
            await Workload.CheckAll(h, s.Model, live);
            // A cancelled watch delivered a correct prefix, and nothing after its cancel reply.
            foreach (var c in canceled)
            {
                var rs = h.ResponsesOf(c.Id);
                int at = rs.FindIndex(r => r.Canceled);
                Assert.Equal(rs.Count - 1, at);
                Workload.Check(rs, s.Model, c, complete: false);
            }
            Assert.False(h.ConcurrentSendSeen);
        })).ToArray();
        await Task.WhenAll(streams);
        Assert.Equal(0, s.Watchable.SyncedCount + s.Watchable.UnsyncedCount + s.Watchable.VictimCount);
    }
}
