namespace Cairn.Raft.Tests.Scenarios;

/// <summary>Log compaction and snapshots: Raft paper §7.</summary>
public sealed class SnapshotTests
{
    [Fact]
    public void Section7_LaggingFollowerPastCompactionReceivesSnapshotThenLog()
    {
        var c = new TestCluster(3, catchUp: 2);
        c.Campaign(1);
        c.Isolate(3);
        for (var i = 0; i < 20; i++) c.Propose(1, "e" + i);
        var snap = c[1].SnapshotAndCompact(c.Disk(1), "state@leader"u8.ToArray());
        Assert.NotNull(snap);
        Assert.Equal(c[1].AppliedIndex, snap!.Metadata.Index);
        Assert.Equal(snap.Metadata.Index - 2 + 1, c.Disk(1).FirstIndex); // catch-up tail of 2 entries kept
        c.Heal();
        c.Sent.Clear();
        c.TickAll(2);
        var sent = Assert.Single(c.Sent, m => m.Type == MessageType.Snapshot && m.To == 3);
        Assert.Equal("state@leader", System.Text.Encoding.UTF8.GetString(sent.Snapshot!.Data.Span));
        Assert.Equal(snap.Metadata.Index, c.Disk(3).Snapshot.Metadata.Index);
        c.Propose(1, "after");
        Assert.Equal(new[] { "after" }, c.AppliedTexts(3));
        Assert.Equal(c[1].LastIndex, c[3].LastIndex);
        Assert.Equal(ProgressState.Replicate, c[1].Core.Tracker.Get(3)!.State);
    }

    [Fact]
    public void Section7_FollowerWithinCatchUpTailIsRepairedFromLogWithoutSnapshot()
    {
        var c = new TestCluster(3, catchUp: 100);
        c.Campaign(1);
        c.Isolate(3);
        for (var i = 0; i < 20; i++) c.Propose(1, "e" + i);
        c[1].SnapshotAndCompact(c.Disk(1), "s"u8.ToArray());
        c.Heal();
        c.Sent.Clear();
        c.TickAll(2);
        Assert.DoesNotContain(c.Sent, m => m.Type == MessageType.Snapshot);
        Assert.Equal(20, c.AppliedTexts(3).Count());
    }

    [Fact]
    public void Section7_SnapshotFailure_ReportedFalse_LeaderRetries()
    {
        var c = new TestCluster(3, catchUp: 0);
        c.Campaign(1);
        c.Isolate(3);
        for (var i = 0; i < 5; i++) c.Propose(1, "e" + i);
        c[1].SnapshotAndCompact(c.Disk(1), "s"u8.ToArray());
        c.Heal();
        c.Filter = m => m.Type != MessageType.Snapshot;
        // The transport would report the failed delivery.
        c.Tick(1);
        var pr = c[1].Core.Tracker.Get(3)!;
        Assert.Equal(ProgressState.Snapshot, pr.State);
        Assert.True(pr.IsPaused);
        c[1].ReportSnapshot(3, success: false);
        Assert.Equal(ProgressState.Probe, pr.State);
        c.Filter = null;
        c.TickAll(3);
        Assert.Equal(c[1].LastIndex, c[3].LastIndex);
    }

    [Fact]
    public void Section7_NewMemberJoinsViaSnapshotAndLearnsConfiguration()
    {
        var c = new TestCluster(3, catchUp: 0);
        c.Campaign(1);
        for (var i = 0; i < 5; i++) c.Propose(1, "e" + i);
        c.AddEmptyMember(4);
        c[1].ProposeConfChange(new ConfChange(ConfChangeType.AddLearner, 4, default));
        c.Stabilize();
        c.TickAll(3);
        Assert.Equal(c[1].ConfState.Voters, c[4].ConfState.Voters);
        Assert.Equal(new ulong[] { 4 }, c[4].ConfState.Learners);
        Assert.Equal(c[1].CommitIndex, c[4].CommitIndex);
    }

    [Fact]
    public void RestartFromSnapshotAndTail_RestoresLogPosition()
    {
        var c = new TestCluster(3, catchUp: 3);
        c.Campaign(1);
        for (var i = 0; i < 10; i++) c.Propose(1, "e" + i);
        c[2].SnapshotAndCompact(c.Disk(2), "s"u8.ToArray());
        var last = c[2].LastIndex;
        c.Crash(2);
        c.Start(2);
        Assert.Equal(last, c[2].LastIndex);
        Assert.Equal(c.Disk(2).Snapshot.Metadata.Index, c[2].AppliedIndex);
        c.Propose(1, "after");
        Assert.Contains("after", c.AppliedTexts(2));
    }
}
