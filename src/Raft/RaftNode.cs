namespace Cairn.Raft;

/// <summary>
/// The driver of one member's Raft core (etcd-raft's RawNode): pure and single-threaded — no clock, no I/O,
/// no threads, no tasks. The owner calls <see cref="Tick"/> on a timer, <see cref="Step"/> for each message from
/// a peer, the propose/read/transfer methods for client requests, and after each of those drains the output:
/// <code>
/// while (node.HasReady) { var rd = node.GetReady(); /* see Ready for the order */ node.Advance(rd); }
/// </code>
/// All methods must be called from one thread (or under one lock).
/// </summary>
public sealed class RaftNode
{
    private readonly Raft _raft;
    private readonly RaftConfig _config;
    private SoftState _prevSoft;
    private HardState _prevHard;
    private Ready? _outstanding;

    /// <summary>Starts (or restarts) a member from the state in <see cref="RaftConfig.Storage"/>.</summary>
    /// <param name="config">Configuration, including the storage and the random source.</param>
    public RaftNode(RaftConfig config)
    {
        _config = config;
        _raft = new Raft(config);
        _prevSoft = _raft.SoftState;
        _prevHard = _raft.HardState;
    }

    internal Raft Core => _raft;

    /// <summary>This member's id.</summary>
    public ulong Id => _raft.Id;
    /// <summary>Current term.</summary>
    public ulong Term => _raft.Term;
    /// <summary>Known leader, or 0.</summary>
    public ulong LeaderId => _raft.Lead;
    /// <summary>This member's role.</summary>
    public RaftRole Role => _raft.Role;
    /// <summary>Commit index.</summary>
    public ulong CommitIndex => _raft.Log.Committed;
    /// <summary>Applied index, as reported through <see cref="Advance"/>.</summary>
    public ulong AppliedIndex => _raft.Log.Applied;
    /// <summary>Last index of the log (persisted or not).</summary>
    public ulong LastIndex => _raft.Log.LastIndex;
    /// <summary>The configuration as of the last applied change.</summary>
    public ConfState ConfState => _raft.Tracker.ConfState;
    /// <summary>Target of a leadership transfer this leader is running, or 0.</summary>
    public ulong LeadTransferee => _raft.LeadTransferee;

    /// <summary>
    /// On the leader, the replication progress of every member in ascending id order (for status reporting and
    /// for choosing a transfer target: the voter with the highest match). Empty on other members.
    /// </summary>
    public IReadOnlyList<MemberProgress> GetProgress()
    {
        if (_raft.Role != RaftRole.Leader) return [];
        var list = new List<MemberProgress>(_raft.Tracker.Progress.Count);
        foreach (var (id, pr) in _raft.Tracker.Progress)
            list.Add(new MemberProgress(id, pr.Match, pr.Next, pr.State, pr.IsLearner, pr.RecentActive, pr.Inflights.Count));
        return list;
    }

    /// <summary>Advances logical time by one tick (election and heartbeat timers).</summary>
    public void Tick() => _raft.Tick();

    /// <summary>
    /// Feeds a message received from a peer. Local message types are refused; messages from members unknown
    /// to a leader are ignored, as are stale ones.
    /// </summary>
    /// <param name="message">The decoded message (ownership passes to the core).</param>
    public void Step(Message message)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (MessageCodec.IsLocal(message.Type)) throw new ArgumentException($"{message.Type} is a local message type", nameof(message));
        _raft.Step(message);
    }

    /// <summary>Starts an election now (tests and operators; normally elections follow from ticks).</summary>
    public void Campaign() => _raft.Step(new Message { Type = MessageType.Hup, From = Id });

    /// <summary>Proposes an application command. Returns why it was refused, or <see cref="ProposeStatus.Accepted"/>.</summary>
    /// <param name="data">The command (copy it first if the buffer will be reused: the core keeps the reference).</param>
    public ProposeStatus TryPropose(ReadOnlyMemory<byte> data) =>
        _raft.Step(new Message { Type = MessageType.Propose, From = Id, Entries = [new Entry(0, 0, EntryType.Normal, data)] });

    /// <summary>Proposes an application command.</summary>
    /// <param name="data">The command.</param>
    /// <exception cref="ProposalDroppedException">Refused (no leader, transfer, size limit...); nothing was appended.</exception>
    public void Propose(ReadOnlyMemory<byte> data) => ThrowIfDropped(TryPropose(data));

    /// <summary>Proposes a configuration change (refused while another one is unapplied).</summary>
    /// <param name="change">The change.</param>
    public ProposeStatus TryProposeConfChange(ConfChange change) =>
        _raft.Step(new Message { Type = MessageType.Propose, From = Id, Entries = [new Entry(0, 0, EntryType.ConfChange, ConfChangeCodec.Encode(change))] });

    /// <summary>Proposes a configuration change.</summary>
    /// <param name="change">The change.</param>
    /// <exception cref="ProposalDroppedException">Refused; nothing was appended.</exception>
    public void ProposeConfChange(ConfChange change) => ThrowIfDropped(TryProposeConfChange(change));

    /// <summary>
    /// Applies a committed configuration change: call it while applying the entry that carries it, on every member.
    /// Returns the new configuration (persist it with the next snapshot).
    /// </summary>
    /// <param name="change">The decoded change (<see cref="ConfChangeCodec.Decode"/>).</param>
    public ConfState ApplyConfChange(ConfChange change) => _raft.ApplyConfChange(change);

    /// <summary>
    /// Requests a linearizable read. When confirmed, a <see cref="ReadState"/> with the same context appears in a
    /// later Ready (on this member, even if it is a follower: the request is forwarded to the leader).
    /// Requests with a context already pending are merged. Dropped silently if leadership changes meanwhile:
    /// time out and retry.
    /// </summary>
    /// <param name="context">A unique request id.</param>
    public ProposeStatus ReadIndex(ReadOnlyMemory<byte> context) =>
        _raft.Step(new Message { Type = MessageType.ReadIndex, Context = context });

    /// <summary>
    /// Asks the leader to hand leadership to <paramref name="target"/> (forwarded if this member is a follower).
    /// The leader stops accepting proposals, brings the target up to date, then tells it to campaign at once;
    /// it gives up after an election timeout.
    /// </summary>
    /// <param name="target">A voter.</param>
    public ProposeStatus TransferLeadership(ulong target) =>
        _raft.Step(new Message { Type = MessageType.TransferLeader, From = target });

    /// <summary>The transport could not deliver to <paramref name="memberId"/>: the leader stops pipelining to it.</summary>
    /// <param name="memberId">The unreachable member.</param>
    public void ReportUnreachable(ulong memberId) =>
        _raft.Step(new Message { Type = MessageType.Unreachable, From = memberId });

    /// <summary>Reports whether the snapshot sent to <paramref name="memberId"/> was delivered; required after every snapshot message.</summary>
    /// <param name="memberId">The member the snapshot was sent to.</param>
    /// <param name="success">Delivered and acknowledged by the transport.</param>
    public void ReportSnapshot(ulong memberId, bool success) =>
        _raft.Step(new Message { Type = MessageType.SnapshotStatus, From = memberId, Reject = !success });

    /// <summary>
    /// The index up to which to compact storage after taking a snapshot at <paramref name="snapshotIndex"/>:
    /// keeps <see cref="RaftConfig.SnapshotCatchUpEntries"/> entries so slightly lagging followers catch up from the log.
    /// Returns 0 when nothing should be compacted.
    /// </summary>
    /// <param name="snapshotIndex">Index of the snapshot just taken (≤ <see cref="AppliedIndex"/>).</param>
    public ulong CompactIndexFor(ulong snapshotIndex) =>
        snapshotIndex > _config.SnapshotCatchUpEntries ? snapshotIndex - _config.SnapshotCatchUpEntries : 0;

    /// <summary>
    /// Convenience for <see cref="MemoryStorage"/> users: records a snapshot of the state machine at
    /// <see cref="AppliedIndex"/> with the current configuration, then compacts keeping the catch-up tail.
    /// Returns the snapshot, or null if nothing new was applied since the last one.
    /// </summary>
    /// <param name="storage">The storage this node reads (must be the one in its config).</param>
    /// <param name="data">Serialized state machine as of <see cref="AppliedIndex"/>.</param>
    public Snapshot? SnapshotAndCompact(MemoryStorage storage, ReadOnlyMemory<byte> data)
    {
        var applied = AppliedIndex;
        if (applied <= storage.Snapshot.Metadata.Index || applied > storage.LastIndex) return null;
        var snap = storage.CreateSnapshot(applied, ConfState, data);
        var compact = CompactIndexFor(applied);
        if (compact > storage.FirstIndex - 1) storage.Compact(compact);
        return snap;
    }

    /// <summary>True when there is something to persist, send, apply or read, and no Ready is outstanding.</summary>
    public bool HasReady
    {
        get
        {
            if (_outstanding is not null) return false;
            var r = _raft;
            return r.SoftState != _prevSoft
                || (r.HardState != _prevHard && !r.HardState.IsEmpty)
                || r.Log.Unstable.Snapshot is not null
                || r.Log.Unstable.Count > 0
                || r.Outbox.Count > 0
                || r.OutboxAfterPersist.Count > 0
                || r.ReadStates.Count > 0
                || r.Log.HasNextCommittedEntries;
        }
    }

    /// <summary>Takes the pending output. Process it as described on <see cref="Ready"/>, then call <see cref="Advance"/>.</summary>
    public Ready GetReady()
    {
        if (_outstanding is not null) throw new InvalidOperationException("the previous Ready has not been advanced");
        var r = _raft;
        var soft = r.SoftState;
        var hard = r.HardState;
        var entries = r.Log.Unstable.ToArray();
        var hardChanged = hard != _prevHard && !hard.IsEmpty;
        var rd = new Ready
        {
            SoftState = soft != _prevSoft ? soft : null,
            HardState = hardChanged ? hard : null,
            Snapshot = r.Log.Unstable.Snapshot,
            Entries = entries,
            CommittedEntries = r.Log.NextCommittedEntries(_config.MaxCommittedSizePerReady),
            Messages = r.Outbox.Count == 0 ? [] : r.Outbox.ToArray(),
            MessagesAfterPersist = r.OutboxAfterPersist.Count == 0 ? [] : r.OutboxAfterPersist.ToArray(),
            ReadStates = r.ReadStates.Count == 0 ? [] : r.ReadStates.ToArray(),
            MustSync = entries.Length > 0 || hard.Term != _prevHard.Term || hard.Vote != _prevHard.Vote,
        };
        r.Outbox.Clear();
        r.OutboxAfterPersist.Clear();
        r.ReadStates.Clear();
        _prevSoft = soft;
        if (hardChanged) _prevHard = hard;
        _outstanding = rd;
        return rd;
    }

    /// <summary>Reports that <paramref name="ready"/> was fully processed (persisted, sent, applied).</summary>
    /// <param name="ready">The Ready returned by the last <see cref="GetReady"/>.</param>
    public void Advance(Ready ready)
    {
        if (!ReferenceEquals(ready, _outstanding)) throw new InvalidOperationException("Advance must be given the outstanding Ready");
        _outstanding = null;
        if (ready.Snapshot is { } snap)
        {
            _raft.Log.StableSnapTo(snap.Metadata.Index);
            _raft.Log.AppliedSnapshot(snap.Metadata.Index);
        }
        if (ready.Entries.Count > 0)
        {
            var last = ready.Entries[^1];
            _raft.OnPersisted(last.Index, last.Term);
        }
        if (ready.CommittedEntries.Count > 0)
        {
            _raft.Log.AppliedTo(ready.CommittedEntries[^1].Index);
            _raft.ReduceUncommittedSize(ready.CommittedEntries is Entry[] a ? a : ready.CommittedEntries.ToArray());
        }
    }

    private void ThrowIfDropped(ProposeStatus status)
    {
        if (status != ProposeStatus.Accepted) throw new ProposalDroppedException(status, _raft.Lead);
    }
}
