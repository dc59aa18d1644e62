namespace Cairn.Raft;

/// <summary>Outcome of a proposal, read-index request or transfer request handed to the core.</summary>
public enum ProposeStatus
{
    /// <summary>Accepted (appended on the leader, or forwarded to the leader).</summary>
    Accepted = 0,
    /// <summary>No leader is known; retry later.</summary>
    NoLeader = 1,
    /// <summary>This member is a follower and forwarding is disabled; send it to <see cref="ProposalDroppedException.LeaderId"/>.</summary>
    NotLeader = 2,
    /// <summary>A leadership transfer is in progress; retry after it completes or aborts.</summary>
    TransferInProgress = 3,
    /// <summary>The leader's uncommitted log is over its size limit; retry later.</summary>
    UncommittedLimit = 4,
    /// <summary>A configuration change is still unapplied; only one change at a time.</summary>
    ConfChangePending = 5,
    /// <summary>This member is no longer in the configuration.</summary>
    NotMember = 6,
    /// <summary>The request was malformed (for example an empty batch, or a transfer to a learner).</summary>
    Invalid = 7,
}
