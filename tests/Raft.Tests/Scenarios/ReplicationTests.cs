namespace Cairn.Raft.Tests.Scenarios;

/// <summary>Log replication: Raft paper §5.3 and §5.4.2, flow control, proposals on followers.</summary>
public sealed class ReplicationTests
{
    [Fact]
    public void Section5_3_LeaderReplicatesAndAllMembersApplySameEntriesInOrder()
    {
        var c = new TestCluster(3);
        c.Campaign(1);
        for (var i = 0; i < 10; i++) Assert.Equal(ProposeStatus.Accepted, c.Propose(1, "cmd" + i));
        var expected = Enumerable.Range(0, 10).Select(i => "cmd" + i).ToList();
        foreach (var id in new ulong[] { 1, 2, 3 }) Assert.Equal(expected, c.AppliedTexts(id));
        Assert.Equal(c[1].CommitIndex, c[2].CommitIndex);
    }

    [Fact]
    public void Section5_3_FollowerConflictingSuffixIsOverwritten()
    {
        var c = new TestCluster(3);
        c.Campaign(1);
        c.Propose(1, "committed");
        // 1 appends entries nobody else receives, then loses leadership.
        c.Isolate(1);
        c.Propose(1, "lost1");
        c.Propose(1, "lost2");
        c.Campaign(2);
        c.Propose(2, "winner");
        c.Heal();
        c.TickAll(3); // heartbeats reach 1, it steps down and is repaired
        Assert.Equal(new[] { "committed", "winner" }, c.AppliedTexts(1));
        Assert.Equal(c[2].LastIndex, c[1].LastIndex);
        for (var i = c.Disk(1).FirstIndex; i <= c.Disk(1).LastIndex; i++)
        {
            c.Disk(1).TryGetTerm(i, out var t1);
            c.Disk(2).TryGetTerm(i, out var t2);
            Assert.Equal(t2, t1);
        }
    }

    [Fact]
    public void Section5_4_2_LeaderDoesNotCommitPreviousTermEntryByCountingReplicas()
    {
        // Member 1 holds entries 2 and 3 of term 1 (uncommitted) and wins term 2.
        var disk = new MemoryStorage();
        disk.ApplySnapshot(Snapshot.Bootstrap(new ConfState([1UL, 2, 3])));
        disk.Append([new Entry(2, 1, EntryType.Normal, new byte[] { 1 }), new Entry(3, 1, EntryType.Normal, new byte[] { 2 })]);
        disk.SetHardState(new HardState(1, 0, 1));
        var n = new RaftNode(new RaftConfig { Id = 1, Storage = disk, PreVote = false, Random = new Random(1) });
        n.Campaign();
        Drain(n, disk);
        n.Step(new Message { Type = MessageType.VoteResponse, From = 2, To = 1, Term = 2 });
        Assert.Equal(RaftRole.Leader, n.Role);
        Drain(n, disk); // persists the no-op at index 4
        // Member 2 acknowledges index 3: a majority (1, 2) holds the term-1 entries, but they must not commit.
        n.Step(new Message { Type = MessageType.AppendResponse, From = 2, To = 1, Term = 2, Index = 3 });
        Assert.Equal(1UL, n.CommitIndex);
        // Once the current-term no-op is on a majority, it commits, and everything before it with it.
        n.Step(new Message { Type = MessageType.AppendResponse, From = 2, To = 1, Term = 2, Index = 4 });
        Assert.Equal(4UL, n.CommitIndex);
    }

    [Fact]
    public void Section5_4_2_Figure8_OldTermEntryOnMajorityIsNotCommitted_AndMayBeOverwritten()
    {
        // The scenario of Figure 8 in the Raft paper, with 5 members and one entry per append message.
        var c = new TestCluster(5, maxSizePerMsg: 1);
        c.Campaign(1);
        var i = c[1].LastIndex + 1;
        // (a) S1 (term 2) replicates e@i to S2 only, then crashes.
        c.Filter = m => !(m.From == 1 && m.Type == MessageType.Append && m.To != 2);
        c.Propose(1, "e");
        c.Crash(1);
        // (b) S5 wins term 3 with S3 and S4, appends its no-op at i locally only, then crashes.
        c.Filter = m => !(m.From == 5 && m.Type == MessageType.Append);
        c.Campaign(5);
        Assert.Equal(RaftRole.Leader, c[5].Role);
        c.Crash(5);
        // (c) S1 restarts and wins a later term; it gets e@i onto S3 (a majority S1, S2, S3 holds it) but
        // its own no-op does not reach S3.
        c.Start(1);
        c.Filter = m => !(m.Type == MessageType.Append && m.From == 1
            && (m.To is 4 or 5 || (m.To == 3 && c.Disk(3).LastIndex >= i && m.Entries.Any(e => e.Index > i))));
        for (var attempt = 0; attempt < 5 && c[1].Role != RaftRole.Leader; attempt++) c.Campaign(1);
        Assert.Equal(RaftRole.Leader, c[1].Role);
        Assert.Equal(i, c[1].GetProgress().Single(p => p.Id == 3).Match);
        // e is on a majority but from an older term: it must not count as committed.
        Assert.True(c[1].CommitIndex < i, $"commit {c[1].CommitIndex} reached the old-term entry at {i}");
        // (d) S1 crashes; S5 can still win (S3, S4 vote for it) and overwrite e, which is fine because nobody applied it.
        c.Crash(1);
        c.Start(5);
        c.Filter = null;
        for (var attempt = 0; attempt < 5 && c[5].Role != RaftRole.Leader; attempt++) c.Campaign(5);
        Assert.Equal(RaftRole.Leader, c[5].Role);
        c.Propose(5, "after");
        foreach (var id in new ulong[] { 2, 3, 4, 5 }) Assert.DoesNotContain("e", c.AppliedTexts(id));
        Assert.DoesNotContain("e", c.AppliedTexts(1));
    }

    private static void Drain(RaftNode n, MemoryStorage disk)
    {
        while (n.HasReady)
        {
            var rd = n.GetReady();
            disk.Append(rd.Entries);
            if (rd.HardState is { } hs) disk.SetHardState(hs);
            n.Advance(rd);
        }
    }

    [Fact]
    public void LeaderCountsItsOwnEntryOnlyAfterPersisting()
    {
        var c = new TestCluster(3);
        c.Campaign(1);
        c.Isolate(2);
        c.Isolate(3);
        c[1].Propose("x"u8.ToArray());
        // Before Advance nothing is durable on the leader: its Ready must not claim the entry committed.
        var rd = c[1].GetReady();
        Assert.Single(rd.Entries);
        Assert.Empty(rd.CommittedEntries);
        Assert.Contains(rd.Messages, m => m.Type == MessageType.Append); // sent in parallel with the fsync
        c.Disk(1).Append(rd.Entries);
        c[1].Advance(rd);
        Assert.True(c[1].CommitIndex < c[1].LastIndex);
    }

    [Fact]
    public void FollowerMessagesWaitForPersist()
    {
        var c = new TestCluster(3);
        c.Campaign(1);
        c.Filter = m => !(m.Type == MessageType.Append && m.To == 2);
        c[1].Propose("x"u8.ToArray());
        var rd1 = c[1].GetReady();
        var app = rd1.Messages.First(m => m.To == 2 && m.Type == MessageType.Append);
        c.Disk(1).Append(rd1.Entries);
        c[1].Advance(rd1);
        c[2].Step(app);
        var rd = c[2].GetReady();
        Assert.Empty(rd.Messages);
        Assert.Contains(rd.MessagesAfterPersist, m => m.Type == MessageType.AppendResponse);
        Assert.True(rd.MustSync);
    }

    [Fact]
    public void Batching_AppendMessagesRespectMaxSizePerMsg()
    {
        var c = new TestCluster(3, maxSizePerMsg: 1000);
        c.Campaign(1);
        c.Isolate(2);
        for (var i = 0; i < 20; i++) c.Propose(1, new string('x', 200));
        c.Heal();
        c.Sent.Clear();
        c.TickAll(2);
        var appends = c.Sent.Where(m => m.Type == MessageType.Append && m.To == 2 && m.Entries.Length > 0).ToList();
        Assert.True(appends.Count >= 4, $"expected the 20 × 224-byte backlog split, got {appends.Count} messages");
        Assert.All(appends, m => Assert.True(m.Entries.Length == 1 || m.Entries.Sum(e => e.Size) <= 1000));
        Assert.Equal(c[1].CommitIndex, c[2].CommitIndex);
    }

    [Fact]
    public void Pipelining_InflightWindowBoundsUnacknowledgedAppends()
    {
        var c = new TestCluster(3);
        c.Campaign(1);
        // Drop the acknowledgements of 2: the leader may stream at most MaxInflightMsgs appends (default 256).
        c.Filter = m => !(m.Type == MessageType.AppendResponse && m.From == 2);
        for (var i = 0; i < 300; i++) c.Propose(1, "p" + i);
        var pr = c[1].Core.Tracker.Get(2)!;
        Assert.Equal(ProgressState.Replicate, pr.State);
        Assert.True(pr.Inflights.Full);
        Assert.Equal(256, pr.Inflights.Count);
        // Acks resume on the next heartbeat round: the window drains and the follower catches up.
        c.Filter = null;
        c.TickAll(2);
        Assert.Equal(c[1].LastIndex, c[2].LastIndex);
        Assert.False(pr.Inflights.Full);
    }

    [Fact]
    public void FastBacktracking_SkipsWholeDivergentTermsInFewRoundTrips()
    {
        var c = new TestCluster(3);
        c.Campaign(1);
        c.Propose(1, "base");
        // 1 builds a long uncommitted suffix in its term, isolated.
        c.Isolate(1);
        for (var i = 0; i < 100; i++) c[1].Propose(System.Text.Encoding.UTF8.GetBytes("dead" + i));
        c.Stabilize();
        c.Campaign(2);
        for (var i = 0; i < 5; i++) c.Propose(2, "live" + i);
        c.Heal();
        c.Sent.Clear();
        c.TickAll(3);
        var rejections = c.Sent.Count(m => m.Type == MessageType.AppendResponse && m.Reject && m.From == 1);
        Assert.True(rejections <= 3, $"expected at most a few rejections, got {rejections}");
        Assert.Equal(Enumerable.Range(0, 5).Select(i => "live" + i).Prepend("base"), c.AppliedTexts(1));
    }

    [Fact]
    public void UncommittedSizeLimit_DropsProposalsUntilCommitted()
    {
        var c = new TestCluster(3, maxUncommitted: 1000);
        c.Campaign(1);
        c.Isolate(2);
        c.Isolate(3);
        Assert.Equal(ProposeStatus.Accepted, c.Propose(1, new string('a', 600)));
        Assert.Equal(ProposeStatus.UncommittedLimit, c.Propose(1, new string('b', 600)));
        c.Heal();
        c.TickAll(2);
        Assert.Equal(c[1].LastIndex, c[1].CommitIndex);
        Assert.Equal(0UL, c[1].Core.UncommittedSize);
        c.Isolate(2);
        c.Isolate(3);
        Assert.Equal(ProposeStatus.Accepted, c.Propose(1, new string('c', 600)));
        var ex = Assert.Throws<ProposalDroppedException>(() => c[1].Propose(new byte[600]));
        Assert.Equal(ProposeStatus.UncommittedLimit, ex.Status);
    }

    [Fact]
    public void ReportUnreachable_StopsPipelining_ProbeResumesReplication()
    {
        var c = new TestCluster(3);
        c.Campaign(1);
        c.Propose(1, "a");
        Assert.Equal(ProgressState.Replicate, c[1].GetProgress().Single(p => p.Id == 2).State);
        c[1].ReportUnreachable(2);
        Assert.Equal(ProgressState.Probe, c[1].GetProgress().Single(p => p.Id == 2).State);
        c.Propose(1, "b");
        Assert.Equal(ProgressState.Replicate, c[1].GetProgress().Single(p => p.Id == 2).State);
        Assert.Equal(c[1].LastIndex, c[1].GetProgress().Single(p => p.Id == 2).Match);
        Assert.Empty(c[2].GetProgress());
    }

    [Fact]
    public void FollowerForwardsProposalsToLeader()
    {
        var c = new TestCluster(3);
        c.Campaign(1);
        Assert.Equal(ProposeStatus.Accepted, c.Propose(2, "via-follower"));
        Assert.Equal(new[] { "via-follower" }, c.AppliedTexts(3));
    }

    [Fact]
    public void ProposalWithoutLeader_OrWithForwardingDisabled_IsRefusedWithLeaderId()
    {
        var none = new TestCluster(3);
        var ex = Assert.Throws<ProposalDroppedException>(() => none[1].Propose("x"u8.ToArray()));
        Assert.Equal(ProposeStatus.NoLeader, ex.Status);
        Assert.Equal(0UL, ex.LeaderId);

        var c = new TestCluster(3, disableForwarding: true);
        c.Campaign(1);
        ex = Assert.Throws<ProposalDroppedException>(() => c[2].Propose("x"u8.ToArray()));
        Assert.Equal(ProposeStatus.NotLeader, ex.Status);
        Assert.Equal(1UL, ex.LeaderId);
    }
}
