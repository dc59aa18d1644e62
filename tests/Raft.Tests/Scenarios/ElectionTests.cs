namespace Cairn.Raft.Tests.Scenarios;

/// <summary>Leader election: Raft paper §5.2, §5.4.1; thesis §9.6 (pre-vote) and check-quorum (§6.2).</summary>
public sealed class ElectionTests
{
    [Fact]
    public void Section5_2_CandidateWithMajorityBecomesLeader_OthersFollowInItsTerm()
    {
        var c = new TestCluster(3);
        c.Campaign(1);
        Assert.Equal(RaftRole.Leader, c[1].Role);
        Assert.Equal(2UL, c[1].Term);
        foreach (var id in new ulong[] { 2, 3 })
        {
            Assert.Equal(RaftRole.Follower, c[id].Role);
            Assert.Equal(2UL, c[id].Term);
            Assert.Equal(1UL, c[id].LeaderId);
        }
    }

    [Fact]
    public void Section5_2_ElectionTimeoutStartsElection_WithinTwoTimeouts()
    {
        var c = new TestCluster(5);
        // Randomized timeouts lie in [10, 20): some member must campaign and win by tick 20.
        c.TickAll(20);
        Assert.NotNull(c.Leader());
        var leaders = Enumerable.Range(1, 5).Count(i => c[(ulong)i].Role == RaftRole.Leader);
        Assert.Equal(1, leaders);
    }

    [Fact]
    public void Section5_2_RandomizedTimeout_IsDrawnFromInjectedSourceInRange()
    {
        var seen = new HashSet<int>();
        for (var seed = 0; seed < 50; seed++)
        {
            var disk = new MemoryStorage();
            disk.ApplySnapshot(Snapshot.Bootstrap(new ConfState([1UL, 2, 3])));
            var a = new RaftNode(new RaftConfig { Id = 1, Storage = disk, ElectionTick = 10, Random = new Random(seed) });
            var b = new RaftNode(new RaftConfig { Id = 1, Storage = disk, ElectionTick = 10, Random = new Random(seed) });
            Assert.Equal(a.Core.RandomizedElectionTimeout, b.Core.RandomizedElectionTimeout);
            Assert.InRange(a.Core.RandomizedElectionTimeout, 10, 19);
            seen.Add(a.Core.RandomizedElectionTimeout);
        }
        Assert.True(seen.Count > 3, "timeouts should vary with the seed");
    }

    [Fact]
    public void Section5_2_CandidateWithoutMajority_DoesNotBecomeLeader()
    {
        var c = new TestCluster(3);
        c.Isolate(1);
        c.Campaign(1);
        Assert.Equal(RaftRole.Candidate, c[1].Role);
        Assert.Null(c.Leader());
    }

    [Fact]
    public void Section5_2_AtMostOneVotePerTerm()
    {
        var c = new TestCluster(3);
        c.Cut(1, 3);
        c.Cut(2, 1);
        c.Campaign(1); // 1 gets 2's vote (2 -> 1 answers are cut: 1 stays candidate), 3 never hears
        Assert.Equal(1UL, c[2].Core.Vote);
        // 3 campaigns in the same term 2? It moves to term 2 too; 2 already voted for 1 in term 2 and must refuse.
        var term = c[2].Term;
        c[2].Step(new Message { Type = MessageType.Vote, From = 3, To = 2, Term = term, Index = 100, LogTerm = 100 });
        var rd = c[2].GetReady();
        var resp = Assert.Single(rd.AllMessages, m => m.Type == MessageType.VoteResponse);
        Assert.True(resp.Reject);
        c[2].Advance(rd);
    }

    [Fact]
    public void Section5_4_1_ElectionRestriction_OutdatedLogCannotWin()
    {
        var c = new TestCluster(3);
        c.Campaign(1);
        c.Isolate(3);
        c.Propose(1, "a");
        c.Propose(1, "b");
        c.Heal();
        // 3 missed two committed entries; 1 and 2 must refuse to vote for it.
        c.Isolate(1);
        c.Campaign(3);
        Assert.NotEqual(RaftRole.Leader, c[3].Role);
        c.Campaign(2);
        Assert.Equal(RaftRole.Leader, c[2].Role);
    }

    [Fact]
    public void Section9_6_PreVote_IsolatedMemberDoesNotInflateTermOrDisruptLeader()
    {
        var c = new TestCluster(3, preVote: true, checkQuorum: true);
        c.Campaign(1);
        var term = c[1].Term;
        c.Isolate(3);
        c.Tick(3, 100);
        Assert.Equal(term, c[3].Term); // pre-votes never bump the term
        Assert.Equal(RaftRole.PreCandidate, c[3].Role);
        c.Heal();
        c.TickAll(30);
        Assert.Equal(RaftRole.Leader, c[1].Role);
        Assert.Equal(term, c[1].Term);
        Assert.Equal(1UL, c[3].LeaderId);
    }

    [Fact]
    public void Section9_6_WithoutPreVote_IsolatedMemberDisruptsOnReturn()
    {
        // The counterpart of the test above: proves the scenario really exercises pre-vote.
        var c = new TestCluster(3, preVote: false, checkQuorum: false);
        c.Campaign(1);
        var term = c[1].Term;
        c.Isolate(3);
        c.Tick(3, 100);
        Assert.True(c[3].Term > term);
        c.Heal();
        c.Tick(3, 20); // its next vote request carries a higher term: the healthy leader steps down
        Assert.True(c[1].Term > term);
    }

    [Fact]
    public void CheckQuorum_LeaderCutFromMajority_StepsDownAfterElectionTimeout()
    {
        var c = new TestCluster(3, checkQuorum: true);
        c.Campaign(1);
        c.Isolate(1);
        c.Tick(1, 9);
        Assert.Equal(RaftRole.Leader, c[1].Role);
        c.Tick(1, 11);
        Assert.Equal(RaftRole.Follower, c[1].Role);
    }

    [Fact]
    public void CheckQuorum_LeaderLease_FollowersIgnoreVotesWhileLeaderIsHeard()
    {
        var c = new TestCluster(3, checkQuorum: true);
        c.Campaign(1);
        var term = c[1].Term;
        // 3 campaigns without pre-vote while 1 is healthy: 2 ignores it (lease), so 1 stays leader.
        c.Campaign(3);
        Assert.Equal(RaftRole.Leader, c[1].Role);
        Assert.NotEqual(RaftRole.Leader, c[3].Role);
        Assert.Equal(term, c[2].Term);
    }

    [Fact]
    public void Restart_RestoresTermVoteAndCommitFromStorage()
    {
        var c = new TestCluster(3);
        c.Campaign(1);
        c.Propose(1, "a");
        var hs = c.Disk(2).HardState;
        c.Crash(2);
        c.Start(2);
        Assert.Equal(hs.Term, c[2].Term);
        Assert.Equal(hs.Commit, c[2].CommitIndex);
        Assert.Equal(hs.Vote, c[2].Core.Vote);
    }
}
