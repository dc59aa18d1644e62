namespace Cairn.Raft.Tests.Scenarios;

/// <summary>Membership changes: Raft paper §6 / thesis §4 (single-server changes), learners.</summary>
public sealed class MembershipTests
{
    private static ConfChange Change(ConfChangeType t, ulong id) => new(t, id, default);

    [Fact]
    public void Section6_AddLearner_ReceivesLogButIsNotCountedInQuorum()
    {
        var c = new TestCluster(3);
        c.Campaign(1);
        c.Propose(1, "before");
        c.AddEmptyMember(4);
        c[1].ProposeConfChange(Change(ConfChangeType.AddLearner, 4));
        c.Stabilize();
        c.TickAll(2);
        Assert.Equal(new ulong[] { 4 }, c[1].ConfState.Learners);
        Assert.Equal(new[] { "before" }, c.AppliedTexts(4).Take(1));
        // Learner acks do not make a quorum: with voters 2 and 3 gone, nothing commits.
        c.Isolate(2);
        c.Isolate(3);
        var commit = c[1].CommitIndex;
        c.Propose(1, "needs-voters");
        Assert.Equal(commit, c[1].CommitIndex);
        Assert.Equal(c[1].LastIndex, c[4].LastIndex);
        // And learners never campaign.
        c.Tick(4, 50);
        Assert.Equal(RaftRole.Follower, c[4].Role);
    }

    [Fact]
    public void Section6_PromoteLearner_ThenItVotesAndCounts()
    {
        var c = new TestCluster(3);
        c.Campaign(1);
        c.AddEmptyMember(4);
        c[1].ProposeConfChange(Change(ConfChangeType.AddLearner, 4));
        c.Stabilize();
        c.TickAll(1);
        c[1].ProposeConfChange(Change(ConfChangeType.AddVoter, 4));
        c.Stabilize();
        Assert.Equal(new ulong[] { 1, 2, 3, 4 }, c[1].ConfState.Voters);
        Assert.Empty(c[1].ConfState.Learners);
        // Four voters: quorum is 3. With 2 and 3 gone, 1 + 4 are not enough.
        c.Isolate(2);
        c.Isolate(3);
        var commit = c[1].CommitIndex;
        c.Propose(1, "x");
        Assert.Equal(commit, c[1].CommitIndex);
        c.Heal();
        c.TickAll(2);
        Assert.True(c[1].CommitIndex > commit);
    }

    [Fact]
    public void Section6_OneChangeAtATime_SecondChangeRefusedUntilFirstApplied()
    {
        var c = new TestCluster(3);
        c.Campaign(1);
        c.Isolate(2);
        c.Isolate(3);
        Assert.Equal(ProposeStatus.Accepted, c[1].TryProposeConfChange(Change(ConfChangeType.AddLearner, 4)));
        c.Stabilize();
        Assert.Equal(ProposeStatus.ConfChangePending, c[1].TryProposeConfChange(Change(ConfChangeType.AddLearner, 5)));
        var ex = Assert.Throws<ProposalDroppedException>(() => c[1].ProposeConfChange(Change(ConfChangeType.RemoveMember, 3)));
        Assert.Equal(ProposeStatus.ConfChangePending, ex.Status);
        c.Heal();
        c.TickAll(2);
        Assert.Equal(ProposeStatus.Accepted, c[1].TryProposeConfChange(Change(ConfChangeType.AddLearner, 5)));
    }

    [Fact]
    public void Section6_NewLeaderAcceptsNoChangeBeforeItsNoOpIsApplied()
    {
        var c = new TestCluster(3);
        // Append acknowledgements are lost: the new leader's no-op cannot commit.
        c.Filter = m => m.Type != MessageType.AppendResponse;
        c.Campaign(1);
        Assert.Equal(RaftRole.Leader, c[1].Role);
        Assert.Equal(ProposeStatus.ConfChangePending, c[1].TryProposeConfChange(Change(ConfChangeType.AddLearner, 4)));
        c.Filter = null;
        c.TickAll(2);
        Assert.Equal(ProposeStatus.Accepted, c[1].TryProposeConfChange(Change(ConfChangeType.AddLearner, 4)));
    }

    [Fact]
    public void Section6_RemovedLeaderStepsDown_RestElectNewLeader()
    {
        var c = new TestCluster(3, checkQuorum: true, preVote: true);
        c.Campaign(1);
        c[1].ProposeConfChange(Change(ConfChangeType.RemoveMember, 1));
        c.Stabilize();
        Assert.NotEqual(RaftRole.Leader, c[1].Role);
        Assert.Equal(new ulong[] { 2, 3 }, c[2].ConfState.Voters);
        c.TickAll(40);
        var leader = c.Leader();
        Assert.True(leader is 2 or 3, $"leader {leader}");
        Assert.Equal(ProposeStatus.Accepted, c.Propose(leader!.Value, "after-removal"));
        Assert.Contains("after-removal", c.AppliedTexts(2));
        // The removed member is not promotable: it never campaigns, so it cannot disrupt.
        var term = c[leader.Value].Term;
        c.Tick(1, 100);
        Assert.Equal(term, c[leader.Value].Term);
    }

    [Fact]
    public void Section6_RemovedMemberThatNeverLearnedIt_DoesNotDisrupt()
    {
        var c = new TestCluster(3, checkQuorum: true, preVote: true);
        c.Campaign(1);
        c.Isolate(3);
        c[1].ProposeConfChange(Change(ConfChangeType.RemoveMember, 3));
        c.Stabilize();
        Assert.Equal(new ulong[] { 1, 2 }, c[1].ConfState.Voters);
        var term = c[1].Term;
        c.Heal();
        // 3 still believes it is a voter and keeps trying to campaign: pre-vote and leases make it harmless.
        c.TickAll(200);
        Assert.Equal(RaftRole.Leader, c[1].Role);
        Assert.Equal(term, c[1].Term);
        Assert.Equal(ProposeStatus.Accepted, c.Propose(1, "still-fine"));
        Assert.Contains("still-fine", c.AppliedTexts(2));
    }

    [Fact]
    public void Section6_RemoveFollower_QuorumShrinks()
    {
        var c = new TestCluster(3);
        c.Campaign(1);
        c[1].ProposeConfChange(Change(ConfChangeType.RemoveMember, 3));
        c.Stabilize();
        c.Crash(3);
        // Two voters: quorum 2, 1 and 2 commit alone.
        Assert.Equal(ProposeStatus.Accepted, c.Propose(1, "x"));
        Assert.Contains("x", c.AppliedTexts(2));
    }

    [Fact]
    public void ConfChangeCodec_RoundTripsAndRejectsGarbage()
    {
        var cc = new ConfChange(ConfChangeType.AddLearner, 12345678901, new byte[] { 1, 2, 3 });
        var decoded = ConfChangeCodec.Decode(ConfChangeCodec.Encode(cc));
        Assert.Equal(cc.Type, decoded.Type);
        Assert.Equal(cc.MemberId, decoded.MemberId);
        Assert.Equal(cc.Context.ToArray(), decoded.Context.ToArray());
        Assert.Throws<MessageFormatException>(() => ConfChangeCodec.Decode([]));
        Assert.Throws<MessageFormatException>(() => ConfChangeCodec.Decode([1, 9, 1, 0]));
        Assert.Throws<MessageFormatException>(() => ConfChangeCodec.Decode([1, 0, 0, 0]));
        Assert.Throws<MessageFormatException>(() => ConfChangeCodec.Decode([1, 0, 1, 5, 1]));
        Assert.Throws<MessageFormatException>(() => ConfChangeCodec.Decode([1, 0, 1, 0, 7]));
    }
}
