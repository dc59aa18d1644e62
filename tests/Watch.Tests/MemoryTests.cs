using Cairn.Watch.Tests.Infra;
using Mvccpb;

namespace Cairn.Watch.Tests;

/// <summary>Idle watchers are cheap (target: at most 1 KiB each, store side).</summary>
public class MemoryTests
{
    private sealed class NullSink : WatchSink
    {
        internal override bool TrySend(in WatchItem item) => true;
        internal override void SendProgressAll(long revision) { }
    }

    [Fact]
    public void An_idle_watcher_costs_well_under_one_kibibyte()
    {
        using var s = TestStore.Create(real: false);
        var sink = new NullSink();
        const int N = 20_000;
        var keep = new Watcher[N];
        long before = GC.GetTotalMemory(true);
        for (int i = 0; i < N; i++)
        {
            var key = System.Text.Encoding.ASCII.GetBytes($"/registry/pods/ns{i % 50}/pod-{i}");
            byte[]? end = i % 4 == 0 ? [.. key, 0xff] : null;
            keep[i] = new Watcher(i, key, end, s.Revision + 1, WatchFlags.PrevKv, sink);
            s.Watchable.Add(keep[i]);
        }
        long after = GC.GetTotalMemory(true);
        double perWatcher = (after - before) / (double)N;
        Assert.Equal(N, s.Watchable.SyncedCount);
        Console.WriteLine($"idle watcher: {perWatcher:F0} bytes (store side, incl. its key)");
        Assert.True(perWatcher < 512, $"{perWatcher:F0} bytes per idle watcher");
        // And a write to one key costs only its matching watchers.
        s.Put("/registry/pods/ns1/pod-1", "x");
        foreach (var w in keep) s.Watchable.Remove(w);
        Assert.Equal(0, s.Watchable.SyncedCount);
        GC.KeepAlive(keep);
    }
}
