namespace Cairn.Raft.Tests.Scenarios;

/// <summary>Leadership transfer: thesis §3.10 (etcd's MoveLeader).</summary>
public sealed class TransferTests
{
    [Fact]
    public void Thesis3_10_TransferToUpToDateFollower_SendsTimeoutNowAndTargetWins()
    {
        var c = new TestCluster(3, preVote: true, checkQuorum: true);
        c.Campaign(1);
        c.Propose(1, "x");
        c.Sent.Clear();
        c[1].TransferLeadership(2);
        c.Stabilize();
        Assert.Contains(c.Sent, m => m.Type == MessageType.TimeoutNow && m.To == 2);
        Assert.Equal(RaftRole.Leader, c[2].Role);
        Assert.Equal(2UL, c[1].LeaderId);
    }

    [Fact]
    public void Thesis3_10_TransferToLaggingFollower_CatchesItUpFirst()
    {
        var c = new TestCluster(3);
        c.Campaign(1);
        c.Isolate(3);
        for (var i = 0; i < 5; i++) c.Propose(1, "e" + i);
        c.Heal();
        c[1].TransferLeadership(3);
        c.Stabilize();
        Assert.Equal(RaftRole.Leader, c[3].Role);
        Assert.Equal(5, c.AppliedTexts(3).Count());
    }

    [Fact]
    public void Thesis3_10_ProposalsRefusedDuringTransfer_AndTransferAbortsAfterElectionTimeout()
    {
        var c = new TestCluster(3, electionTick: 10);
        c.Campaign(1);
        c.Isolate(3);
        c.Propose(1, "x"); // 3 lags
        c[1].TransferLeadership(3);
        c.Stabilize();
        Assert.Equal(3UL, c[1].LeadTransferee);
        Assert.Equal(ProposeStatus.TransferInProgress, c.Propose(1, "during"));
        c.Tick(1, 10);
        Assert.Equal(0UL, c[1].LeadTransferee);
        Assert.Equal(RaftRole.Leader, c[1].Role);
        Assert.Equal(ProposeStatus.Accepted, c.Propose(1, "after"));
    }

    [Fact]
    public void Thesis3_10_TransferRequestOnFollowerIsForwarded()
    {
        var c = new TestCluster(3);
        c.Campaign(1);
        c[3].TransferLeadership(3);
        c.Stabilize();
        Assert.Equal(RaftRole.Leader, c[3].Role);
    }

    [Fact]
    public void TimeoutNowOverridesLeaderLease()
    {
        var c = new TestCluster(3, checkQuorum: true, preVote: true);
        c.Campaign(1);
        c[1].TransferLeadership(2);
        c.Stabilize();
        Assert.Equal(RaftRole.Leader, c[2].Role);
        Assert.Equal(c[2].Term, c[3].Term);
    }
}
