namespace Cairn.Raft;

/// <summary>
/// The Raft state machine of one member (etcd-raft's <c>raft</c> struct): pure, single-threaded, driven by
/// <see cref="Tick"/> and <see cref="Step"/>, with its output collected in <see cref="Outbox"/>,
/// <see cref="OutboxAfterPersist"/> and <see cref="ReadStates"/> for <see cref="RaftNode"/> to hand out.
/// Split by concern: Raft.Election.cs (votes), Raft.Leader.cs, Raft.Follower.cs, Raft.Membership.cs.
/// </summary>
internal sealed partial class Raft
{
    /// <summary>Context of the vote requests of a leadership transfer: they override leader leases.</summary>
    internal static readonly byte[] TransferContext = "CampaignTransfer"u8.ToArray();

    private readonly RaftConfig _config;
    private readonly Random _random;
    private int _electionElapsed;
    private int _heartbeatElapsed;
    private int _randomizedElectionTimeout;
    private ulong _uncommittedSize;
    private ReadOnlyQueue _readOnly = new();
    private readonly List<Message> _pendingReadIndex = [];

    public Raft(RaftConfig config)
    {
        config.Validate();
        _config = config;
        _random = config.Random;
        Id = config.Id;
        Log = new RaftLog(config.Storage);
        Tracker = new ProgressTracker(config.MaxInflightMsgs, config.MaxInflightBytes);
        var (hs, cs) = config.Storage.InitialState();
        Tracker.SetConfig(cs, Log.LastIndex + 1);
        if (!hs.IsEmpty)
        {
            // A commit below the snapshot index is legal: the application persists the snapshot before the hard
            // state (see Ready) and may crash in between. The snapshot only holds committed entries, so the log's
            // initial commit (the snapshot index) stands.
            if (hs.Commit > Log.LastIndex)
                throw new InvalidOperationException($"hard state commit {hs.Commit} is past the last index {Log.LastIndex}");
            Log.CommitTo(hs.Commit);
            Term = hs.Term;
            Vote = hs.Vote;
        }
        if (config.Applied > 0) Log.AppliedTo(Math.Min(config.Applied, Log.Committed));
        BecomeFollower(Term, 0);
    }

    public ulong Id { get; }
    public ulong Term { get; private set; }
    public ulong Vote { get; private set; }
    public ulong Lead { get; private set; }
    public RaftRole Role { get; private set; }
    public RaftLog Log { get; }
    public ProgressTracker Tracker { get; }
    /// <summary>Target of a leadership transfer in progress, or 0.</summary>
    public ulong LeadTransferee { get; private set; }
    /// <summary>Index of the latest configuration change appended by this leader: no new one until it is applied.</summary>
    public ulong PendingConfIndex { get; private set; }
    public bool IsLearner => Tracker.IsLearner(Id);

    /// <summary>Messages that may be sent at once: a leader's appends, heartbeats, snapshots (see <see cref="Ready"/>).</summary>
    public List<Message> Outbox { get; } = [];
    /// <summary>Messages to send only after the Ready that carries them is persisted.</summary>
    public List<Message> OutboxAfterPersist { get; } = [];
    public List<ReadState> ReadStates { get; } = [];

    public HardState HardState => new(Term, Vote, Log.Committed);
    public SoftState SoftState => new(Lead, Role);
    public ulong UncommittedSize => _uncommittedSize;
    internal int RandomizedElectionTimeout => _randomizedElectionTimeout;

    /// <summary>Can campaign: a voter of the current configuration.</summary>
    public bool Promotable => Tracker.IsVoter(Id);

    // ---- time ----

    public void Tick()
    {
        if (Role == RaftRole.Leader) TickHeartbeat();
        else TickElection();
    }

    private void TickElection()
    {
        _electionElapsed++;
        if (Promotable && _electionElapsed >= _randomizedElectionTimeout)
        {
            _electionElapsed = 0;
            Step(new Message { Type = MessageType.Hup, From = Id });
        }
    }

    private void TickHeartbeat()
    {
        _heartbeatElapsed++;
        _electionElapsed++;
        if (_electionElapsed >= _config.ElectionTick)
        {
            _electionElapsed = 0;
            if (_config.CheckQuorum) Step(new Message { Type = MessageType.CheckQuorum, From = Id });
            // A transfer that did not complete within an election timeout is abandoned (etcd's MoveLeader).
            if (Role == RaftRole.Leader && LeadTransferee != 0) AbortLeaderTransfer();
        }
        if (Role != RaftRole.Leader) return;
        if (_heartbeatElapsed >= _config.HeartbeatTick)
        {
            _heartbeatElapsed = 0;
            Step(new Message { Type = MessageType.Beat, From = Id });
        }
    }

    // ---- role changes ----

    private void Reset(ulong term)
    {
        if (Term != term)
        {
            Term = term;
            Vote = 0;
        }
        Lead = 0;
        _electionElapsed = 0;
        _heartbeatElapsed = 0;
        _randomizedElectionTimeout = _config.ElectionTick + _random.Next(_config.ElectionTick);
        AbortLeaderTransfer();
        Tracker.ResetVotes();
        Tracker.ResetProgress(Id, Log.LastIndex, Log.LastStableIndex);
        PendingConfIndex = 0;
        _uncommittedSize = 0;
        _readOnly = new ReadOnlyQueue();
        // Reads waiting for a first commit in a term are dropped with the term: clients time out and retry.
        _pendingReadIndex.Clear();
    }

    public void BecomeFollower(ulong term, ulong lead)
    {
        Reset(term);
        Lead = lead;
        Role = RaftRole.Follower;
    }

    private void BecomePreCandidate()
    {
        if (Role == RaftRole.Leader) throw new InvalidOperationException("leader cannot become pre-candidate");
        // Neither term nor vote change: a pre-vote that fails leaves no trace.
        Tracker.ResetVotes();
        Lead = 0;
        Role = RaftRole.PreCandidate;
    }

    private void BecomeCandidate()
    {
        if (Role == RaftRole.Leader) throw new InvalidOperationException("leader cannot become candidate");
        Reset(Term + 1);
        Vote = Id;
        Role = RaftRole.Candidate;
    }

    private void BecomeLeader()
    {
        if (Role == RaftRole.Follower) throw new InvalidOperationException("follower cannot become leader");
        Reset(Term);
        Lead = Id;
        Role = RaftRole.Leader;
        var self = Tracker.Get(Id)!;
        self.BecomeReplicate();
        self.RecentActive = true;
        // The no-op of the new term: committing it commits every earlier entry (§5.4.2) and is the proof
        // a new leader needs before serving reads (§8) or accepting a configuration change (see below).
        var noop = new Entry(Log.LastIndex + 1, Term, EntryType.Normal, default);
        Log.Append([noop]);
        // Configuration changes wait until the no-op is applied. This closes the single-server-change hole
        // described by Ongaro (raft-dev, 2015): a leader must commit an entry of its own term before
        // proposing a change, or an uncommitted change of an earlier leader could combine with a new one into
        // two configurations whose majorities do not overlap.
        PendingConfIndex = noop.Index;
    }

    // ---- sending ----

    private void Send(Message m)
    {
        if (m.From == 0) m.From = Id;
        if (m.Type is MessageType.Vote or MessageType.VoteResponse or MessageType.PreVote or MessageType.PreVoteResponse)
        {
            if (m.Term == 0) throw new InvalidOperationException($"{m.Type} must carry an explicit term");
        }
        else if (m.Type is not (MessageType.Propose or MessageType.ReadIndex))
        {
            // Proposals and reads forwarded to the leader stay term-less: they are local requests in transit.
            m.Term = Term;
        }
        // A leader's appends, heartbeats, snapshots and read answers do not depend on its own pending
        // writes (its log entries count for commitment only once persisted, see OnPersisted), so they may
        // go out while it fsyncs. Everything else (votes, append answers, a candidate's vote requests
        // that imply its new term and self-vote) must wait for the persist.
        if (Role == RaftRole.Leader && m.Type is MessageType.Append or MessageType.Heartbeat or MessageType.Snapshot
                or MessageType.TimeoutNow or MessageType.ReadIndexResponse)
            Outbox.Add(m);
        else
            OutboxAfterPersist.Add(m);
    }

    // ---- the step function ----

    /// <summary>Feeds one message (remote or local) to the state machine.</summary>
    public ProposeStatus Step(Message m)
    {
        if (m.Term == 0)
        {
            // Local message (or a forwarded proposal/read).
        }
        else if (m.Term > Term)
        {
            if (m.Type is MessageType.Vote or MessageType.PreVote)
            {
                var force = m.Context.Span.SequenceEqual(TransferContext);
                var inLease = _config.CheckQuorum && Lead != 0 && _electionElapsed < _config.ElectionTick;
                if (!force && inLease)
                {
                    // We heard from a live leader within the minimum election timeout: this candidate is
                    // partitioned or removed. Ignoring it (not even bumping our term) keeps it from deposing
                    // a healthy leader (thesis §4.2.3).
                    return ProposeStatus.Accepted;
                }
            }
            if (m.Type == MessageType.PreVote)
            {
                // Never change term because of a pre-vote.
            }
            else if (m.Type == MessageType.PreVoteResponse && !m.Reject)
            {
                // A granted pre-vote echoes the term we will campaign in; we bump it when the pre-vote wins.
            }
            else if (m.Type is MessageType.Append or MessageType.Heartbeat or MessageType.Snapshot)
            {
                BecomeFollower(m.Term, m.From);
            }
            else
            {
                BecomeFollower(m.Term, 0);
            }
        }
        else if (m.Term < Term)
        {
            if ((_config.CheckQuorum || _config.PreVote) && m.Type is MessageType.Heartbeat or MessageType.Append)
            {
                // A stale leader (for example just back from a partition) would otherwise never learn our term
                // if pre-vote keeps us from campaigning at a higher one: tell it, so it steps down.
                Send(new Message { To = m.From, Type = MessageType.AppendResponse });
            }
            else if (m.Type == MessageType.PreVote)
            {
                // Reject with our term so the pre-candidate learns it is behind.
                Send(new Message { To = m.From, Term = Term, Type = MessageType.PreVoteResponse, Reject = true });
            }
            return ProposeStatus.Accepted;
        }

        switch (m.Type)
        {
            case MessageType.Hup:
                Hup(transfer: false);
                return ProposeStatus.Accepted;
            case MessageType.Vote:
            case MessageType.PreVote:
                HandleVoteRequest(m);
                return ProposeStatus.Accepted;
        }

        return Role switch
        {
            RaftRole.Leader => StepLeader(m),
            RaftRole.Candidate or RaftRole.PreCandidate => StepCandidate(m),
            _ => StepFollower(m),
        };
    }

    // ---- persistence feedback ----

    /// <summary>The application persisted the entries of a Ready up to (index, term).</summary>
    public void OnPersisted(ulong index, ulong term)
    {
        Log.StableTo(index, term);
        if (Role != RaftRole.Leader) return;
        // The leader counts its own copy towards a quorum only now that it is durable.
        var self = Tracker.Get(Id);
        if (self is not null && self.MaybeUpdate(Log.LastStableIndex) && MaybeCommit()) BroadcastAppend();
    }

    public void ReduceUncommittedSize(ReadOnlySpan<Entry> committed)
    {
        if (Role != RaftRole.Leader) return;
        ulong size = 0;
        foreach (var e in committed) size += (ulong)e.Data.Length;
        _uncommittedSize = size >= _uncommittedSize ? 0 : _uncommittedSize - size;
    }

    public void ResetRandomizedElectionTimeout() =>
        _randomizedElectionTimeout = _config.ElectionTick + _random.Next(_config.ElectionTick);
}
