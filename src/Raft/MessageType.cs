namespace Cairn.Raft;

/// <summary>
/// Kinds of <see cref="Message"/>. Values are part of the wire format (see <see cref="MessageCodec"/>):
/// never renumber them. Types marked "local" never cross the network; the codec refuses them.
/// </summary>
public enum MessageType : byte
{
    /// <summary>Local: start an election (an election timeout elapsed).</summary>
    Hup = 0,
    /// <summary>Local: the leader's heartbeat timer fired.</summary>
    Beat = 1,
    /// <summary>A client proposal; a follower forwards it to the leader.</summary>
    Propose = 2,
    /// <summary>Leader to follower: append entries after (Index, LogTerm); carries the leader's commit index.</summary>
    Append = 3,
    /// <summary>Follower to leader: accept (Index = last matching index) or reject (with a hint) an append.</summary>
    AppendResponse = 4,
    /// <summary>Candidate asks for a vote at Term, its last log position in (Index, LogTerm).</summary>
    Vote = 5,
    /// <summary>Answer to <see cref="Vote"/>.</summary>
    VoteResponse = 6,
    /// <summary>Pre-vote (thesis §9.6): "would you vote for me at Term?" without anyone changing term.</summary>
    PreVote = 7,
    /// <summary>Answer to <see cref="PreVote"/>.</summary>
    PreVoteResponse = 8,
    /// <summary>Leader to follower: install this snapshot (sent whole; chunking is the transport's job).</summary>
    Snapshot = 9,
    /// <summary>Leader to follower: I am alive; commit up to min(your match, my commit); may carry a read context.</summary>
    Heartbeat = 10,
    /// <summary>Answer to <see cref="Heartbeat"/>, echoing its context.</summary>
    HeartbeatResponse = 11,
    /// <summary>Local: the transport could not reach <see cref="Message.From"/>.</summary>
    Unreachable = 12,
    /// <summary>Local: outcome of sending a snapshot to <see cref="Message.From"/> (Reject = failed).</summary>
    SnapshotStatus = 13,
    /// <summary>Local: the leader checks that a quorum was recently active.</summary>
    CheckQuorum = 14,
    /// <summary>Ask the leader to hand leadership to <see cref="Message.From"/>.</summary>
    TransferLeader = 15,
    /// <summary>Leader to transfer target: campaign now, skipping pre-vote and leases.</summary>
    TimeoutNow = 16,
    /// <summary>Request a linearizable read index; <see cref="Message.Context"/> identifies the request.</summary>
    ReadIndex = 17,
    /// <summary>Leader to follower: the read identified by Context may be served once Index is applied.</summary>
    ReadIndexResponse = 18,
}
