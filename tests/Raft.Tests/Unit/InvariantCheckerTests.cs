using Cairn.Raft.Tests.Simulation;

namespace Cairn.Raft.Tests.Unit;

/// <summary>
/// The checker must be able to fail: feed it fabricated histories that break each property and assert it
/// reports them (and that a clean history passes).
/// </summary>
public sealed class InvariantCheckerTests
{
    [Fact]
    public void CleanHistory_HasNoViolations()
    {
        var c = new InvariantChecker();
        c.ObserveLeader(2, 1);
        c.ObserveLeader(2, 1);
        c.ObserveLeader(3, 2);
        c.ObserveEntry(2, 2, 1, 0xAA, 1);
        c.ObserveEntry(2, 2, 1, 0xAA, 2);
        c.ObserveApply(1, 2, 2, 0xAA, 0x1);
        c.ObserveApply(2, 2, 2, 0xAA, 0x1);
        c.ObserveCommitIndex(1, 2);
        c.ObserveCommitIndex(1, 3);
        c.ObserveRead(1, 5, 4);
        Assert.Empty(c.Violations);
    }

    [Fact]
    public void TwoLeadersInOneTerm_IsReported()
    {
        var c = new InvariantChecker();
        c.ObserveLeader(5, 1);
        c.ObserveLeader(5, 2);
        Assert.Contains(c.Violations, v => v.Contains("election safety"));
    }

    [Fact]
    public void DivergentAppliedEntry_IsReported()
    {
        var c = new InvariantChecker();
        c.ObserveApply(1, 7, 3, 0xAA, 0x10);
        c.ObserveApply(2, 7, 3, 0xBB, 0x11);
        Assert.Contains(c.Violations, v => v.Contains("state machine safety"));
    }

    [Fact]
    public void LogMatchingBreach_IsReported()
    {
        var c = new InvariantChecker();
        c.ObserveEntry(4, 2, 1, 0xAA, 1);
        c.ObserveEntry(4, 2, 2, 0xAA, 2); // same (index, term), different predecessor
        Assert.Contains(c.Violations, v => v.Contains("log matching"));
    }

    [Fact]
    public void LeaderMissingCommittedEntry_IsReported()
    {
        var c = new InvariantChecker();
        c.ObserveCommitted(5, 2, 1);
        c.ObserveNewLeaderLog(3, 4, firstIndex: 1, lastIndex: 4, _ => 2);
        Assert.Contains(c.Violations, v => v.Contains("leader completeness"));
        var d = new InvariantChecker();
        d.ObserveCommitted(3, 2, 1);
        d.ObserveNewLeaderLog(3, 4, firstIndex: 1, lastIndex: 9, i => i == 3 ? 3UL : 2UL);
        Assert.Contains(d.Violations, v => v.Contains("leader completeness"));
    }

    [Fact]
    public void CommitGoingBackwards_IsReported()
    {
        var c = new InvariantChecker();
        c.ObserveCommitIndex(1, 10);
        c.ObserveCommitIndex(1, 9);
        Assert.Contains(c.Violations, v => v.Contains("went back"));
        var d = new InvariantChecker();
        d.ObservePersistedCommit(1, 10);
        d.ObserveRestart(1, 8);
        Assert.Contains(d.Violations, v => v.Contains("below its persisted"));
    }

    [Fact]
    public void StaleRead_IsReported()
    {
        var c = new InvariantChecker();
        c.ObserveRead(2, 5, 6);
        Assert.Contains(c.Violations, v => v.Contains("stale read"));
    }

    [Fact]
    public void LostAcknowledgedEntry_IsReported()
    {
        // An acknowledged (applied) entry later replaced at the same index by a crash-recovered member.
        var c = new InvariantChecker();
        c.ObserveApply(1, 9, 2, 0xAA, 0x1);
        c.ObserveCommitted(9, 3, 2);
        Assert.Contains(c.Violations, v => v.Contains("committed entry changed"));
    }
}
