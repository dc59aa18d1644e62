namespace Cairn.Raft;

/// <summary>Outcome of counting votes.</summary>
internal enum VoteResult
{
    Pending,
    Lost,
    Won,
}
