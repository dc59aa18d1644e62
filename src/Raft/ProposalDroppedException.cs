namespace Cairn.Raft;

/// <summary>A proposal (or read or transfer request) was refused; nothing was appended.</summary>
public sealed class ProposalDroppedException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="status">Why it was refused.</param>
    /// <param name="leaderId">The leader known to this member (0 if none), to redirect the client.</param>
    public ProposalDroppedException(ProposeStatus status, ulong leaderId)
        : base($"raft proposal dropped: {status} (leader {leaderId})")
    {
        Status = status;
        LeaderId = leaderId;
    }

    /// <summary>Why it was refused.</summary>
    public ProposeStatus Status { get; }

    /// <summary>The leader known to this member when it refused, or 0.</summary>
    public ulong LeaderId { get; }
}
