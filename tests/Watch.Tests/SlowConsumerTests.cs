using Cairn.Watch.Tests.Infra;

namespace Cairn.Watch.Tests;

/// <summary>A slow client delays its events but never loses them, and memory stays bounded.</summary>
public class SlowConsumerTests
{
    [Fact]
    public async Task Slow_consumer_receives_10000_events_nothing_lost_or_duplicated_with_bounded_buffers()
    {
        const int N = 10_000;
        const int buffer = 8;
        const int batch = 500;
        using var s = TestStore.Create(new WatchableStoreOptions { SyncBatchEvents = batch });
        int maxEventsInOneResponse = 0;
        await using var h = new StreamHarness(s.Watchable, new WatchStreamOptions { SendBufferSize = buffer },
            async (resp, ct) =>
            {
                if (resp.Events.Count > maxEventsInOneResponse) maxEventsInOneResponse = resp.Events.Count;
                await Task.Delay(2, ct); // a client that reads slowly
            });
        var single = await Workload.Create(h, new WatchSpec("k1"), 1);
        var range = await Workload.Create(h, new WatchSpec("k0", "k9\x01", PrevKv: true), 2);
        var rnd = new Random(11);
        int maxVictims = 0, maxUnsynced = 0;
        for (int i = 0; i < N; i++)
        {
            s.Put(Workload.Keys[rnd.Next(Workload.Keys.Length)], "v" + i);
            if (i % 100 == 0)
            {
                maxVictims = Math.Max(maxVictims, s.Watchable.VictimCount);
                maxUnsynced = Math.Max(maxUnsynced, s.Watchable.UnsyncedCount);
            }
        }
        await Workload.CheckAll(h, s.Model, [single, range]);
        Assert.Equal(N, h.EventsOf(2).Count);
        Assert.False(h.ConcurrentSendSeen, "send was called concurrently");
        // The slow path was taken...
        Assert.True(s.Watchable.VictimTransitions > 0);
        Assert.True(maxVictims + maxUnsynced > 0);
        // ...and memory stayed bounded: at most `buffer` responses wait for the client, a victim holds
        // one revision's batch (single puts: one event), history is read in bounded batches.
        Assert.True(h.Stream.MaxPending <= buffer, $"pending {h.Stream.MaxPending} > {buffer}");
        Assert.True(s.Watchable.MaxVictimBatchEvents <= 1, $"victim held {s.Watchable.MaxVictimBatchEvents} events");
        Assert.True(maxEventsInOneResponse <= batch, $"a response carried {maxEventsInOneResponse} events");
        // Once caught up everything is synced again.
        Assert.Equal(2, s.Watchable.SyncedCount);
    }
}
