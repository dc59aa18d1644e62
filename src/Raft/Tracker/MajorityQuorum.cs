namespace Cairn.Raft;

/// <summary>Majority arithmetic over one set of voters (learners never appear here).</summary>
internal static class MajorityQuorum
{
    public static int Size(int voters) => voters / 2 + 1;

    /// <summary>
    /// The largest index acknowledged by a majority. Sort the voters' acked indexes descending: the value at
    /// position quorum-1 is held by at least quorum voters. Example: acks {7, 5, 9} → sorted 9 7 5, quorum 2 → 7.
    /// An empty voter set commits everything (ulong.MaxValue), so joint configs can ignore an empty half.
    /// </summary>
    public static ulong CommittedIndex(IReadOnlyList<ulong> voters, Func<ulong, ulong> acked)
    {
        if (voters.Count == 0) return ulong.MaxValue;
        Span<ulong> values = voters.Count <= 16 ? stackalloc ulong[voters.Count] : new ulong[voters.Count];
        for (var i = 0; i < voters.Count; i++) values[i] = acked(voters[i]);
        values.Sort();
        // Ascending: the quorum-th largest sits at Count - quorum.
        return values[voters.Count - Size(voters.Count)];
    }

    public static VoteResult Vote(IReadOnlyList<ulong> voters, Func<ulong, bool?> vote)
    {
        if (voters.Count == 0) return VoteResult.Won;
        int granted = 0, rejected = 0;
        foreach (var id in voters)
        {
            switch (vote(id))
            {
                case true: granted++; break;
                case false: rejected++; break;
            }
        }
        var q = Size(voters.Count);
        if (granted >= q) return VoteResult.Won;
        if (voters.Count - rejected < q) return VoteResult.Lost;
        return VoteResult.Pending;
    }
}
