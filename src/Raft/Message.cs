namespace Cairn.Raft;

/// <summary>
/// One Raft message. Which fields are meaningful depends on <see cref="Type"/>; unused ones are zero/empty.
/// Instances handed out in a <see cref="Ready"/> belong to the caller; the core never touches them again.
/// </summary>
public sealed class Message
{
    /// <summary>The kind of message.</summary>
    public MessageType Type { get; set; }
    /// <summary>Destination member id.</summary>
    public ulong To { get; set; }
    /// <summary>Sender member id.</summary>
    public ulong From { get; set; }
    /// <summary>Sender's term (for pre-votes: the term the candidate would campaign in); 0 for local messages.</summary>
    public ulong Term { get; set; }
    /// <summary>Term of the entry at <see cref="Index"/> (appends, votes); for a rejected append, the follower's term at <see cref="RejectHint"/>.</summary>
    public ulong LogTerm { get; set; }
    /// <summary>Log index: the entry preceding <see cref="Entries"/> in appends, the last index in votes, the acknowledged index in responses, the read index in read responses.</summary>
    public ulong Index { get; set; }
    /// <summary>Leader's commit index (appends and heartbeats).</summary>
    public ulong Commit { get; set; }
    /// <summary>Entries to append (appends, proposals).</summary>
    public Entry[] Entries { get; set; } = [];
    /// <summary>A vote or append was refused.</summary>
    public bool Reject { get; set; }
    /// <summary>On a rejected append: the follower's suggestion of where to probe next (its last index, bounded by the leader's probe).</summary>
    public ulong RejectHint { get; set; }
    /// <summary>The snapshot of a <see cref="MessageType.Snapshot"/> message, carried whole.</summary>
    public Snapshot? Snapshot { get; set; }
    /// <summary>Opaque context: the request id of reads, the transfer marker of forced votes.</summary>
    public ReadOnlyMemory<byte> Context { get; set; }

    /// <inheritdoc />
    public override string ToString() =>
        $"{Type} {From}->{To} t{Term} i{Index} lt{LogTerm} c{Commit} n{Entries.Length}{(Reject ? " reject hint " + RejectHint : "")}{(Snapshot is null ? "" : " snap@" + Snapshot.Metadata.Index)}";
}
