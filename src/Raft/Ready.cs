namespace Cairn.Raft;

/// <summary>
/// A batch of work the core hands to the application (etcd-raft's Ready). Obtain it with
/// <see cref="RaftNode.GetReady"/> when <see cref="RaftNode.HasReady"/>, process it, then call
/// <see cref="RaftNode.Advance"/>. Processing order — every rule protects a promise made to another member:
/// <list type="number">
/// <item><description><see cref="Messages"/> may be sent at any time, before or while persisting. They are only ever
/// produced by a leader (appends, heartbeats, snapshots, TimeoutNow, read answers) and none of them claims
/// anything about this member's durable state: the leader counts its own copy of new entries towards a quorum
/// only after <see cref="RaftNode.Advance"/> reports them persisted. This is the leader's parallel fsync
/// (thesis §10.2.1), as in etcd.</description></item>
/// <item><description>Persist, atomically or in this order: <see cref="Snapshot"/> (if any), <see cref="Entries"/>
/// (replacing any stored entries at or after the first one's index), then <see cref="HardState"/> (if any). Fsync
/// when <see cref="MustSync"/>.</description></item>
/// <item><description>Only then send <see cref="MessagesAfterPersist"/>: votes, append acknowledgements and vote requests
/// assert that the term, vote and entries of this Ready are durable; sending them earlier and crashing
/// could make this member vote twice in a term or lose an acknowledged entry.</description></item>
/// <item><description>Apply <see cref="Snapshot"/> to the state machine (if any), then <see cref="CommittedEntries"/> in order
/// (they may include entries of this same Ready, which is why persisting comes first); call
/// <see cref="RaftNode.ApplyConfChange"/> for each configuration-change entry. Serve <see cref="ReadStates"/> once the
/// applied index reaches each one's index.</description></item>
/// <item><description>Call <see cref="RaftNode.Advance"/> with this Ready. No other Ready is produced before that.</description></item>
/// </list>
/// A crash anywhere in this sequence is safe: what was not persisted was never promised to anyone.
/// </summary>
public sealed class Ready
{
    internal Ready() { }

    /// <summary>The leader or role changed since the previous Ready; null otherwise.</summary>
    public SoftState? SoftState { get; internal init; }

    /// <summary>Hard state to persist; null if unchanged.</summary>
    public HardState? HardState { get; internal init; }

    /// <summary>A snapshot received from the leader, to persist and then restore the state machine from; null if none.</summary>
    public Snapshot? Snapshot { get; internal init; }

    /// <summary>Entries to persist (append, overwriting any conflicting suffix).</summary>
    public IReadOnlyList<Entry> Entries { get; internal init; } = [];

    /// <summary>Committed entries to apply, in order.</summary>
    public IReadOnlyList<Entry> CommittedEntries { get; internal init; } = [];

    /// <summary>Messages that may be sent immediately, even before persisting (leader only).</summary>
    public IReadOnlyList<Message> Messages { get; internal init; } = [];

    /// <summary>Messages to send only after this Ready's snapshot, entries and hard state are durable.</summary>
    public IReadOnlyList<Message> MessagesAfterPersist { get; internal init; } = [];

    /// <summary>Reads that may be served once the state machine has applied their index.</summary>
    public IReadOnlyList<ReadState> ReadStates { get; internal init; } = [];

    /// <summary>Persisting needs an fsync: new entries, or a new term or vote (a commit index alone can be lazy).</summary>
    public bool MustSync { get; internal init; }

    /// <summary>Every message of this Ready, immediate ones first.</summary>
    public IEnumerable<Message> AllMessages => Messages.Concat(MessagesAfterPersist);
}
