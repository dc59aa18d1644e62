namespace Cairn.Raft;

/// <summary>The role a member plays in its current term.</summary>
public enum RaftRole : byte
{
    /// <summary>Follows a leader (or waits for one).</summary>
    Follower = 0,
    /// <summary>Running a pre-vote (thesis §9.6): asks whether it could win without bumping the term.</summary>
    PreCandidate = 1,
    /// <summary>Campaigning in a new term.</summary>
    Candidate = 2,
    /// <summary>Leads the term.</summary>
    Leader = 3,
}
