namespace Cairn.Raft.Tests.Scenarios;

/// <summary>Linearizable reads with ReadIndex: Raft paper §8 / thesis §6.4.</summary>
public sealed class ReadIndexTests
{
    private static byte[] Ctx(string s) => System.Text.Encoding.UTF8.GetBytes(s);

    [Fact]
    public void Section8_LeaderReadIndex_ConfirmedByHeartbeatQuorum_NoLogWrite()
    {
        var c = new TestCluster(3);
        c.Campaign(1);
        c.Propose(1, "w");
        var last = c[1].LastIndex;
        c.Sent.Clear();
        c[1].ReadIndex(Ctx("r1"));
        c.Stabilize();
        var rs = Assert.Single(c.Reads);
        Assert.Equal("r1", System.Text.Encoding.UTF8.GetString(rs.Context.Span));
        Assert.Equal(c[1].CommitIndex, rs.Index);
        Assert.Equal(last, c[1].LastIndex); // no entry written for the read
        Assert.Contains(c.Sent, m => m.Type == MessageType.Heartbeat && m.Context.Span.SequenceEqual(Ctx("r1")));
    }

    [Fact]
    public void Section8_LeaderCutFromQuorum_DoesNotServeRead()
    {
        var c = new TestCluster(3);
        c.Campaign(1);
        c.Isolate(1);
        c[1].ReadIndex(Ctx("r"));
        c.Stabilize();
        c.Tick(1, 3);
        Assert.Empty(c.Reads);
    }

    [Fact]
    public void Section8_FollowerReadIsForwardedAndAnsweredWithLeaderCommit()
    {
        var c = new TestCluster(3);
        c.Campaign(1);
        c.Propose(1, "w");
        c[3].ReadIndex(Ctx("f"));
        c.Stabilize();
        var rs = Assert.Single(c.Reads);
        Assert.Equal(c[1].CommitIndex, rs.Index);
        Assert.Contains(c.Sent, m => m.Type == MessageType.ReadIndexResponse && m.To == 3);
    }

    [Fact]
    public void Section8_NewLeaderHoldsReadsUntilItCommitsAnEntryOfItsTerm()
    {
        var c = new TestCluster(3);
        c.Filter = m => m.Type != MessageType.AppendResponse;
        c.Campaign(1);
        c[1].ReadIndex(Ctx("early"));
        c.Stabilize();
        c.TickAll(2);
        Assert.Empty(c.Reads);
        c.Filter = null;
        c.TickAll(2);
        var rs = Assert.Single(c.Reads);
        Assert.Equal(c[1].CommitIndex, rs.Index);
        Assert.True(c[1].Core.Log.TermOrZero(rs.Index) == c[1].Term);
    }

    [Fact]
    public void Section8_ReadWithoutLeader_IsRefused()
    {
        var c = new TestCluster(3);
        Assert.Equal(ProposeStatus.NoLeader, c[2].ReadIndex(Ctx("x")));
    }
}
