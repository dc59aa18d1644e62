namespace Cairn.Raft;

/// <summary>Parameters of one member's core. Times are in ticks: the core has no clock.</summary>
public sealed class RaftConfig
{
    /// <summary>This member's id (non-zero, unique in the cluster, never reused).</summary>
    public required ulong Id { get; init; }

    /// <summary>The durable log the application fills.</summary>
    public required IRaftStorage Storage { get; init; }

    /// <summary>
    /// Ticks without hearing from a leader before a follower campaigns. The actual timeout is drawn uniformly
    /// from [ElectionTick, 2 × ElectionTick) from <see cref="Random"/> after every reset. Must exceed <see cref="HeartbeatTick"/>.
    /// </summary>
    public int ElectionTick { get; init; } = 10;

    /// <summary>Ticks between leader heartbeats.</summary>
    public int HeartbeatTick { get; init; } = 1;

    /// <summary>
    /// Last index the application's state machine had applied before this start (0 if none/unknown); committed
    /// entries up to it are not handed out again. Caution: the core's membership comes from the storage snapshot's
    /// <see cref="ConfState"/>, so configuration changes between the snapshot index and this index must still be
    /// passed to <see cref="RaftNode.ApplyConfChange"/> — simplest is to restore the state machine from the
    /// snapshot and set this to the snapshot index, letting later entries (conf changes included) replay.
    /// </summary>
    public ulong Applied { get; init; }

    /// <summary>Soft cap of entry bytes in one append message (a single larger entry is still sent).</summary>
    public ulong MaxSizePerMsg { get; init; } = 1024 * 1024;

    /// <summary>Cap of committed entry bytes handed out in one <see cref="Ready"/>.</summary>
    public ulong MaxCommittedSizePerReady { get; init; } = 64 * 1024 * 1024;

    /// <summary>Maximum append messages in flight (unacknowledged) to one follower in replicate state.</summary>
    public int MaxInflightMsgs { get; init; } = 256;

    /// <summary>Maximum entry bytes in flight to one follower (0 = only <see cref="MaxInflightMsgs"/> applies).</summary>
    public ulong MaxInflightBytes { get; init; } = 32 * 1024 * 1024;

    /// <summary>
    /// Cap on the leader's uncommitted entry payload bytes; proposals past it are refused with
    /// <see cref="ProposeStatus.UncommittedLimit"/> (0 = unlimited). One proposal is always accepted when nothing
    /// is uncommitted, whatever its size.
    /// </summary>
    public ulong MaxUncommittedEntriesSize { get; init; } = 64 * 1024 * 1024;

    /// <summary>A leader steps down when it has not heard from a quorum for an election timeout; followers ignore votes while their leader's lease holds.</summary>
    public bool CheckQuorum { get; init; } = true;

    /// <summary>Run a pre-vote before campaigning, so a partitioned or removed member cannot inflate terms.</summary>
    public bool PreVote { get; init; } = true;

    /// <summary>Refuse proposals on followers instead of forwarding them to the leader.</summary>
    public bool DisableProposalForwarding { get; init; }

    /// <summary>Entries kept before a snapshot's index when compacting, so slightly lagging followers catch up from the log.</summary>
    public ulong SnapshotCatchUpEntries { get; init; } = 5000;

    /// <summary>Source of election-timeout randomness. Inject a seeded instance for deterministic runs.</summary>
    public Random Random { get; init; } = new();

    internal void Validate()
    {
        if (Id == 0) throw new ArgumentException("member id 0 is reserved");
        if (HeartbeatTick <= 0) throw new ArgumentException("HeartbeatTick must be positive");
        if (ElectionTick <= HeartbeatTick) throw new ArgumentException("ElectionTick must exceed HeartbeatTick");
        if (MaxInflightMsgs <= 0) throw new ArgumentException("MaxInflightMsgs must be positive");
        ArgumentNullException.ThrowIfNull(Storage);
        ArgumentNullException.ThrowIfNull(Random);
    }
}
