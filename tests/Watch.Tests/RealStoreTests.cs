using Cairn.Mvcc;
using Cairn.Watch.Tests.Infra;
using Etcdserverpb;

namespace Cairn.Watch.Tests;

/// <summary>Behaviour that needs the real KvStore: the suite runs on it, and snapshot restore.</summary>
public class RealStoreTests
{
    [Fact]
    public void The_suite_runs_against_the_real_KvStore()
    {
        Assert.True(TestStore.RealAvailable, "KvStore does not work: the watch tests fell back to the model store");
        using var s = TestStore.Create();
        Assert.True(s.IsReal);
    }

    /// <summary>Writes <paramref name="before"/> to the watched store and a twin, then more to the twin only; restores the watched store from the twin.</summary>
    private static void RestoreFromTwin(TestStore s, IEnumerable<Op[]> before, IEnumerable<Op[]> after, long compactTwinAt = 0)
    {
        var twin = new KvStore();
        foreach (var ops in before)
        {
            s.Write(ops);
            TestStore.ApplyTo(twin, ops);
        }
        foreach (var ops in after)
        {
            TestStore.ApplyTo(twin, ops);
            s.Model.Write(ops);
        }
        if (compactTwinAt > 0)
        {
            twin.Compact(new CompactionRequest { Revision = compactTwinAt });
            s.Model.Compact(compactTwinAt);
        }
        var ms = new MemoryStream();
        twin.WriteSnapshot(ms);
        ms.Position = 0;
        s.Kv!.Restore(ms);
    }

    [Fact]
    public async Task Restore_resyncs_watchers_from_the_new_history_without_loss_or_duplicates()
    {
        Assert.True(TestStore.RealAvailable);
        using var s = TestStore.Create();
        await using var h = new StreamHarness(s.Watchable);
        var one = await Workload.Create(h, new WatchSpec("k3", PrevKv: true), 1);
        var all = await Workload.Create(h, new WatchSpec("\0", "\0"), 2);
        var rnd = new Random(13);
        var before = Enumerable.Range(0, 100).Select(_ => Workload.RandomWrite(rnd)).ToList();
        var after = Enumerable.Range(0, 100).Select(_ => Workload.RandomWrite(rnd)).ToList();
        RestoreFromTwin(s, before, after);
        Assert.Equal(s.Model.Revision, s.Kv!.Revision);
        for (int i = 0; i < 20; i++) s.Write(Workload.RandomWrite(rnd));
        await Workload.CheckAll(h, s.Model, [one, all]);
        Assert.Equal(2, s.Watchable.SyncedCount);
    }

    [Fact]
    public async Task Restore_whose_history_no_longer_reaches_a_watcher_cancels_it_as_compacted()
    {
        Assert.True(TestStore.RealAvailable);
        using var s = TestStore.Create();
        await using var h = new StreamHarness(s.Watchable);
        var w = await Workload.Create(h, new WatchSpec("\0", "\0"), 1);
        var rnd = new Random(14);
        var before = Enumerable.Range(0, 10).Select(_ => Workload.RandomWrite(rnd)).ToList();
        var after = Enumerable.Range(0, 50).Select(_ => Workload.RandomWrite(rnd)).ToList();
        RestoreFromTwin(s, before, after, compactTwinAt: 40);
        var c = await h.WaitFor(r => r.WatchId == 1 && r.Canceled);
        Assert.Equal(40, c.CompactRevision);
        // Everything before the restore was delivered exactly.
        var delivered = h.ResponsesOf(1);
        WatchChecker.Check(delivered, s.Model.Expected(w.StartRev, "\0", "\0", toRev: w.StartRev + before.Count - 1), complete: false);
    }
}
