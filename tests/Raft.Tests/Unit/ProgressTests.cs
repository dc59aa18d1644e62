namespace Cairn.Raft.Tests.Unit;

/// <summary>Progress state machine and the inflight window (etcd-raft tracker/progress.go, inflights.go).</summary>
public sealed class ProgressTests
{
    [Fact]
    public void Inflights_AddAndFreeLE_TrackCountAndBytes()
    {
        var inf = new Inflights(4, 0);
        inf.Add(10, 100);
        inf.Add(12, 50);
        inf.Add(15, 10);
        Assert.Equal(3, inf.Count);
        Assert.Equal(160UL, inf.Bytes);
        inf.FreeLE(11);
        Assert.Equal(2, inf.Count);
        Assert.Equal(60UL, inf.Bytes);
        inf.FreeLE(9);
        Assert.Equal(2, inf.Count);
        inf.FreeLE(100);
        Assert.Equal(0, inf.Count);
        Assert.Equal(0UL, inf.Bytes);
    }

    [Fact]
    public void Inflights_WrapAroundRing_AndFull()
    {
        var inf = new Inflights(3, 0);
        ulong next = 1;
        for (var round = 0; round < 50; round++)
        {
            while (!inf.Full) inf.Add(next++, 1);
            Assert.Equal(3, inf.Count);
            Assert.Throws<InvalidOperationException>(() => inf.Add(next, 1));
            inf.FreeLE(next - 3); // free the oldest one
            Assert.Equal(2, inf.Count);
        }
    }

    [Fact]
    public void Inflights_ByteLimitMakesFull()
    {
        var inf = new Inflights(100, 1000);
        inf.Add(1, 600);
        Assert.False(inf.Full);
        inf.Add(2, 400);
        Assert.True(inf.Full);
        inf.FreeLE(1);
        Assert.False(inf.Full);
    }

    [Fact]
    public void Inflights_AgainstReferenceModel_RandomOperations()
    {
        var rng = new Random(3);
        var inf = new Inflights(8, 500);
        var model = new List<(ulong Index, ulong Bytes)>();
        ulong next = 1;
        for (var op = 0; op < 20000; op++)
        {
            if (rng.Next(2) == 0)
            {
                var full = model.Count == 8 || model.Sum(x => (long)x.Bytes) >= 500;
                Assert.Equal(full, inf.Full);
                if (!full)
                {
                    var b = (ulong)rng.Next(1, 100);
                    next += (ulong)rng.Next(1, 4);
                    inf.Add(next, b);
                    model.Add((next, b));
                }
            }
            else
            {
                var upTo = next - (ulong)rng.Next(0, 10);
                inf.FreeLE(upTo);
                model.RemoveAll(x => x.Index <= upTo);
            }
            Assert.Equal(model.Count, inf.Count);
            Assert.Equal((ulong)model.Sum(x => (long)x.Bytes), inf.Bytes);
        }
    }

    [Fact]
    public void Progress_ProbeSendsOneAtATime_ReplicatePipelines()
    {
        var pr = new Progress(next: 6, maxInflight: 2, maxInflightBytes: 0, isLearner: false) { Match = 5 };
        Assert.False(pr.IsPaused);
        pr.SentEntries(3, 30);
        Assert.True(pr.IsPaused); // probe outstanding
        Assert.True(pr.MaybeUpdate(8));
        pr.BecomeReplicate();
        Assert.Equal(9UL, pr.Next);
        pr.SentEntries(2, 20);
        Assert.Equal(11UL, pr.Next);
        Assert.False(pr.IsPaused);
        pr.SentEntries(1, 10);
        Assert.True(pr.IsPaused); // window of 2 full
    }

    [Fact]
    public void Progress_MaybeDecrTo_IgnoresStaleRejections()
    {
        var pr = new Progress(next: 11, maxInflight: 4, maxInflightBytes: 0, isLearner: false) { Match = 5 };
        pr.BecomeReplicate();
        Assert.False(pr.MaybeDecrTo(rejected: 4, matchHint: 4)); // at or below Match: stale
        Assert.True(pr.MaybeDecrTo(rejected: 9, matchHint: 7));
        Assert.Equal(6UL, pr.Next); // replicate falls back to Match + 1

        var probe = new Progress(next: 11, maxInflight: 4, maxInflightBytes: 0, isLearner: false) { Match = 2 };
        Assert.False(probe.MaybeDecrTo(rejected: 7, matchHint: 3)); // not the outstanding probe (10)
        Assert.True(probe.MaybeDecrTo(rejected: 10, matchHint: 4));
        Assert.Equal(5UL, probe.Next); // jumps to hint + 1
        Assert.True(probe.MaybeDecrTo(rejected: 4, matchHint: 0));
        Assert.Equal(3UL, probe.Next); // never below Match + 1
    }

    [Fact]
    public void Progress_SnapshotState_PausesUntilReported_ThenProbesAfterSnapshot()
    {
        var pr = new Progress(next: 3, maxInflight: 4, maxInflightBytes: 0, isLearner: false) { Match = 2 };
        pr.BecomeSnapshot(50);
        Assert.True(pr.IsPaused);
        pr.BecomeProbe();
        Assert.Equal(51UL, pr.Next);
        Assert.Equal(ProgressState.Probe, pr.State);
    }
}
