namespace Cairn.Raft.Tests.Unit;

/// <summary>Quorum arithmetic checked against a naive reference on random inputs.</summary>
public sealed class MajorityQuorumTests
{
    /// <summary>The definition: the largest index that more than half of the voters have reached.</summary>
    private static ulong NaiveCommitted(ulong[] acks)
    {
        ulong best = 0;
        foreach (var candidate in acks.Append(0UL))
            if (acks.Count(a => a >= candidate) * 2 > acks.Length && candidate > best) best = candidate;
        return best;
    }

    [Fact]
    public void CommittedIndex_MatchesNaiveReference_OnRandomInputs()
    {
        var rng = new Random(7);
        for (var round = 0; round < 20000; round++)
        {
            var n = rng.Next(1, 10);
            var voters = Enumerable.Range(1, n).Select(i => (ulong)i).ToArray();
            var acks = voters.Select(_ => (ulong)rng.Next(0, 12)).ToArray();
            var got = MajorityQuorum.CommittedIndex(voters, id => acks[id - 1]);
            Assert.Equal(NaiveCommitted(acks), got);
        }
    }

    [Theory]
    [InlineData(new ulong[] { 5 }, 5UL)]
    [InlineData(new ulong[] { 7, 5, 9 }, 7UL)]
    [InlineData(new ulong[] { 1, 2, 3, 4 }, 2UL)]
    [InlineData(new ulong[] { 0, 0, 9, 9, 9 }, 9UL)]
    [InlineData(new ulong[] { 0, 0, 0, 9, 9 }, 0UL)]
    public void CommittedIndex_WorkedExamples(ulong[] acks, ulong expected)
    {
        var voters = Enumerable.Range(1, acks.Length).Select(i => (ulong)i).ToArray();
        Assert.Equal(expected, MajorityQuorum.CommittedIndex(voters, id => acks[id - 1]));
    }

    [Fact]
    public void Vote_MatchesNaiveReference_OnRandomInputs()
    {
        var rng = new Random(11);
        for (var round = 0; round < 20000; round++)
        {
            var n = rng.Next(1, 10);
            var voters = Enumerable.Range(1, n).Select(i => (ulong)i).ToArray();
            var votes = voters.Select(_ => rng.Next(3) switch { 0 => (bool?)true, 1 => false, _ => null }).ToArray();
            var yes = votes.Count(v => v == true);
            var no = votes.Count(v => v == false);
            var expected = yes * 2 > n ? VoteResult.Won : (n - no) * 2 > n ? VoteResult.Pending : VoteResult.Lost;
            Assert.Equal(expected, MajorityQuorum.Vote(voters, id => votes[id - 1]));
        }
    }

    [Fact]
    public void Tracker_LearnersNeverCountTowardsCommit()
    {
        var t = new ProgressTracker(4, 0);
        t.SetConfig(new ConfState([1UL, 2, 3], [4UL, 5]), 1);
        t.Get(1)!.Match = 10;
        t.Get(4)!.Match = 10;
        t.Get(5)!.Match = 10;
        Assert.Equal(0UL, t.Committed());
        t.Get(2)!.Match = 8;
        Assert.Equal(8UL, t.Committed());
    }
}
