namespace Cairn.Raft.Tests.Simulation;

/// <summary>
/// Deterministic simulation of a Raft cluster: N cores driven by simulated ticks, a simulated network (delay,
/// drop, duplicate, reorder, symmetric and asymmetric partitions) and simulated disks (a crash loses everything
/// not persisted through a Ready, and may strike between persisting and sending). Every random choice comes
/// from one <see cref="Random"/> seeded with the run's seed; collections are iterated in id or sequence order.
/// A run has a chaos phase (faults, client load, membership changes, snapshots) then a liveness phase (faults
/// healed: a leader must emerge and commit a new proposal on every live member within a bound).
/// </summary>
internal sealed class Simulator
{
    private sealed record Packet(long Seq, ulong From, ulong To, byte[] Bytes, bool IsSnapshot, bool Dropped);

    private readonly int _seed;
    private readonly SimOptions _o;
    private readonly Random _rng;
    private readonly SortedDictionary<ulong, SimNode> _nodes = [];
    private readonly PriorityQueue<Packet, (long, long)> _network = new();
    private readonly HashSet<(ulong From, ulong To)> _blocked = [];
    private readonly HashSet<ulong> _removed = [];
    private readonly Dictionary<string, (ulong Member, ulong AckedBefore)> _reads = [];
    private readonly List<string>? _trace;
    private long _now;
    private long _seq;
    private ulong _nextClientId = 1;
    private bool _chaos = true;
    private ulong _acknowledgedAtHeal;

    // Per-run fault mix, drawn from the seed.
    private readonly double _dropRate;
    private readonly double _dupRate;
    private int _maxDelay;
    private readonly double _crashRate;
    private readonly double _readyCrashRate;
    private readonly bool _preVote;
    private readonly bool _checkQuorum;
    private readonly ulong _snapshotEvery;
    private readonly ulong _catchUp;
    private readonly double _tickSkipRate;
    private readonly double _storm;
    private readonly ulong _maxSizePerMsg;
    private readonly int _maxInflight;
    private readonly int _heartbeatTick;

    public Simulator(int seed, SimOptions options, bool trace = false)
    {
        _seed = seed;
        _o = options;
        _rng = new Random(seed);
        _trace = trace ? [] : null;
        Checker = new InvariantChecker();
        _dropRate = _o.Faults ? _rng.NextDouble() * 0.1 : 0;
        _dupRate = _o.Faults ? _rng.NextDouble() * 0.05 : 0;
        _maxDelay = _o.Faults ? _rng.Next(0, 5) : 1;
        // A third of the runs are storms: frequent crashes and partitions, hence frequent leader changes with
        // partially replicated logs (the Figure 8 situations of the Raft paper).
        _storm = _rng.NextDouble() < 0.33 ? 4 : 1;
        _crashRate = _o.Faults ? _rng.NextDouble() * 0.01 * _storm : 0;
        _readyCrashRate = _o.Faults ? _rng.NextDouble() * 0.01 * _storm : 0;

        _preVote = _rng.NextDouble() < 0.85;
        _checkQuorum = _rng.NextDouble() < 0.85;
        _snapshotEvery = (ulong)_rng.Next(5, 60);
        _catchUp = (ulong)_rng.Next(0, 20);
        // Uneven clocks: a member sometimes misses a tick, so timers drift apart.
        _tickSkipRate = _o.Faults ? _rng.NextDouble() * 0.2 : 0;
        _heartbeatTick = _rng.Next(_o.HeartbeatTick, _o.HeartbeatTick + 3);
        // Small messages and windows make followers acknowledge long backlogs piecemeal.
        _maxSizePerMsg = new ulong[] { 1, 300, 1024, 64 * 1024 }[_rng.Next(4)];
        _maxInflight = new[] { 1, 4, 64 }[_rng.Next(3)];
        for (ulong id = 1; id <= (ulong)(_o.Members + _o.Spares); id++) _nodes[id] = new SimNode(id);
        var founders = new ConfState(Enumerable.Range(1, _o.Members).Select(i => (ulong)i));
        foreach (var n in _nodes.Values.Where(n => n.Id <= (ulong)_o.Members))
        {
            n.Disk.ApplySnapshot(Snapshot.Bootstrap(founders));
            n.Disk.SetHardState(new HardState(1, 0, 1));
            Start(n);
        }
    }

    public InvariantChecker Checker { get; }
    public IReadOnlyList<string> Trace => _trace ?? [];
    public string? LivenessFailure { get; private set; }
    public long Ticks => _now;

    public string Describe() =>
        $"members={_o.Members} storm={_storm} drop={_dropRate:F3} dup={_dupRate:F3} maxDelay={_maxDelay} crash={_crashRate:F4} readyCrash={_readyCrashRate:F4} preVote={_preVote} checkQuorum={_checkQuorum} snapshotEvery={_snapshotEvery} catchUp={_catchUp} tickSkip={_tickSkipRate:F2} heartbeatTick={_heartbeatTick} maxSizePerMsg={_maxSizePerMsg} maxInflight={_maxInflight}";

    private void Log(string what)
    {
        if (_trace is null) return;
        _trace.Add($"[{_now}] {what}");
        if (_trace.Count > 20000) _trace.RemoveAt(0);
    }

    // ---------------------------------------------------------------- lifecycle

    private void Start(SimNode n)
    {
        var snap = n.Disk.Snapshot;
        n.Applied = snap.Metadata.Index;
        n.StateHash = DecodeState(snap.Data.Span);
        n.Raft = new RaftNode(new RaftConfig
        {
            Id = n.Id,
            Storage = n.Disk,
            ElectionTick = _o.ElectionTick,
            HeartbeatTick = _heartbeatTick,
            Applied = n.Applied,
            MaxSizePerMsg = _maxSizePerMsg,
            MaxInflightMsgs = _maxInflight,
            MaxInflightBytes = 8 * 1024,
            MaxUncommittedEntriesSize = 16 * 1024,
            PreVote = _preVote,
            CheckQuorum = _checkQuorum,
            SnapshotCatchUpEntries = _catchUp,
            Random = new Random(_rng.Next()),
        });
        n.Started = true;
        n.RestartAt = -1;
        n.LastLeaderTerm = 0;
        Checker.ObserveRestart(n.Id, n.Raft.CommitIndex);
        Log($"start {n.Id} commit={n.Raft.CommitIndex} last={n.Raft.LastIndex} applied={n.Applied}");
    }

    private void Crash(SimNode n, string where)
    {
        n.Raft = null;
        n.RestartAt = _now + _rng.Next(5, 80);
        Log($"crash {n.Id} {where}");
    }

    // ---------------------------------------------------------------- main loop

    public void Run()
    {
        for (var t = 0; t < _o.ChaosTicks; t++)
        {
            Step(() => { Faults(); ClientLoad(); });
            if (Checker.Violations.Count > 0) return;
        }
        Heal();
        ulong marker = 0;
        long proposedAt = -1;
        ConfState? finalConf = null;
        for (var t = 0; t < _o.LivenessTicks; t++)
        {
            var done = false;
            Step(() =>
            {
                var leader = CurrentLeader();
                if (leader is null) return;
                if (marker == 0 || _now - proposedAt > 3 * _o.ElectionTick)
                {
                    if (marker != 0 && LiveMembersApplied(leader, marker)) { done = true; finalConf = leader.Raft!.ConfState; return; }
                    var id = _nextClientId++;
                    if (leader.Raft!.TryPropose(ClientCommand(id, 16)) == ProposeStatus.Accepted)
                    {
                        marker = id;
                        proposedAt = _now;
                    }
                }
                else if (LiveMembersApplied(leader, marker))
                {
                    done = true;
                    finalConf = leader.Raft!.ConfState;
                }
            });
            if (Checker.Violations.Count > 0) return;
            if (done)
            {
                foreach (var id in finalConf!.Voters.Concat(finalConf.Learners))
                    Checker.ObserveFinalState(id, _nodes[id].Applied, _nodes[id].StateHash, _acknowledgedAtHeal);
                return;
            }
        }
        LivenessFailure = $"no leader committed a new proposal on all live members within {_o.LivenessTicks} ticks after healing; " +
            string.Join("; ", _nodes.Values.Where(n => n.Alive).Select(n => $"{n.Id}:{n.Raft!.Role} t{n.Raft.Term} lead{n.Raft.LeaderId} commit{n.Raft.CommitIndex} applied{n.Applied} last{n.Raft.LastIndex} conf[{n.Raft.ConfState}]"));
    }

    private SimNode? CurrentLeader()
    {
        SimNode? best = null;
        foreach (var n in _nodes.Values)
            if (n.Alive && n.Raft!.Role == RaftRole.Leader && (best is null || n.Raft.Term > best.Raft!.Term)) best = n;
        return best;
    }

    private bool LiveMembersApplied(SimNode leader, ulong clientId)
    {
        var cs = leader.Raft!.ConfState;
        foreach (var id in cs.Voters.Concat(cs.Learners))
        {
            var n = _nodes[id];
            if (!n.Alive || !n.AppliedClientIds.Contains(clientId)) return false;
        }
        return true;
    }

    private void Heal()
    {
        _chaos = false;
        _acknowledgedAtHeal = Checker.MaxApplied;
        _blocked.Clear();
        _maxDelay = Math.Min(_maxDelay, 1);
        Log("heal");
        foreach (var n in _nodes.Values)
        {
            // Removed members keep running where pre-vote and check-quorum protect the cluster from them
            // (the "no disruption" property); without both, etcd also expects them to be shut down.
            if (_removed.Contains(n.Id) && !(_preVote && _checkQuorum))
            {
                n.Raft = null;
                n.RestartAt = -1;
                continue;
            }
            if (n.Started && !n.Alive) Start(n);
        }
    }

    private void Step(Action actions)
    {
        _now++;
        Checker.Now = _now;
        if (_chaos)
            foreach (var n in _nodes.Values)
                if (n.Started && !n.Alive && n.RestartAt >= 0 && n.RestartAt <= _now) Start(n);
        actions();
        foreach (var n in _nodes.Values)
            if (!_chaos || _rng.NextDouble() >= _tickSkipRate) n.Raft?.Tick();
        Pump();
        foreach (var n in _nodes.Values)
        {
            if (!n.Alive) continue;
            var r = n.Raft!;
            Checker.ObserveCommitIndex(n.Id, r.CommitIndex);
            if (r.Role == RaftRole.Leader) ObserveLeader(n);
        }
    }

    private void ObserveLeader(SimNode n)
    {
        var r = n.Raft!;
        Checker.ObserveLeader(r.Term, n.Id);
        if (n.LastLeaderTerm == r.Term) return;
        n.LastLeaderTerm = r.Term;
        Log($"leader {n.Id} term {r.Term}");
        var log = r.Core.Log;
        Checker.ObserveNewLeaderLog(n.Id, r.Term, log.FirstIndex, log.LastIndex, i => log.TryTerm(i, out var t) ? t : null);
    }

    private void Pump()
    {
        for (var round = 0; round < 10; round++)
        {
            foreach (var n in _nodes.Values) ProcessReadies(n);
            var any = false;
            while (_network.TryPeek(out var p, out var prio) && prio.Item1 <= _now)
            {
                _network.Dequeue();
                Deliver(p);
                any = true;
            }
            if (!any) break;
        }
        foreach (var n in _nodes.Values) ProcessReadies(n);
    }

    // ---------------------------------------------------------------- network

    private void Send(ulong from, Message m)
    {
        var bytes = MessageCodec.Encode(m);
        var isSnap = m.Type == MessageType.Snapshot;
        var dropped = _chaos && _rng.NextDouble() < _dropRate;
        Enqueue(new Packet(_seq++, from, m.To, bytes, isSnap, dropped));
        if (_chaos && !dropped && !isSnap && _rng.NextDouble() < _dupRate)
            Enqueue(new Packet(_seq++, from, m.To, bytes, isSnap, false));
    }

    private void Enqueue(Packet p) => _network.Enqueue(p, (_now + _rng.Next(0, _maxDelay + 1), p.Seq));

    private void Deliver(Packet p)
    {
        var sender = _nodes.GetValueOrDefault(p.From);
        var target = _nodes.GetValueOrDefault(p.To);
        var lost = p.Dropped || target is null || !target.Alive || _blocked.Contains((p.From, p.To));
        if (lost)
        {
            if (p.IsSnapshot) sender?.Raft?.ReportSnapshot(p.To, success: false);
            else if (_rng.NextDouble() < 0.1) sender?.Raft?.ReportUnreachable(p.To);
            return;
        }
        var m = MessageCodec.Decode(p.Bytes);
        if (_trace is not null) Log($"deliver {m}");
        target!.Raft!.Step(m);
        if (p.IsSnapshot) sender?.Raft?.ReportSnapshot(p.To, success: true);
    }

    // ---------------------------------------------------------------- ready handling

    private void ProcessReadies(SimNode n)
    {
        for (var guard = 0; guard < 100 && n.Alive && n.Raft!.HasReady; guard++)
        {
            var r = n.Raft!;
            var rd = r.GetReady();
            if (rd.SoftState is { Role: RaftRole.Leader }) ObserveLeader(n);
            var crashAt = _chaos && _rng.NextDouble() < _readyCrashRate ? _rng.Next(0, 5) : -1;
            if (crashAt == 0) { Crash(n, "before sending"); return; }

            // 1. The leader's messages may leave before the fsync.
            foreach (var m in rd.Messages) Send(n.Id, m);
            if (crashAt == 1) { Crash(n, "after immediate sends, before persist"); return; }

            // 2. Persist: snapshot, entries, hard state.
            if (rd.Snapshot is { } snap) n.Disk.ApplySnapshot(snap);
            ObserveEntries(n, rd.Entries);
            n.Disk.Append(rd.Entries);
            if (crashAt == 2 && _rng.Next(2) == 0) { Crash(n, "after entries, before hard state"); return; }
            if (rd.HardState is { } hs)
            {
                n.Disk.SetHardState(hs);
                Checker.ObservePersistedCommit(n.Id, hs.Commit);
                ObserveCommitted(n, hs.Commit);
            }
            if (crashAt == 2) { Crash(n, "after persist, before sending"); return; }

            // 3. Messages that depend on what was just persisted.
            for (var i = 0; i < rd.MessagesAfterPersist.Count; i++)
            {
                if (crashAt == 3 && _rng.Next(3) == 0) { Crash(n, "while sending"); return; }
                Send(n.Id, rd.MessagesAfterPersist[i]);
            }

            // 4. Apply.
            if (rd.Snapshot is { } s)
            {
                n.Applied = s.Metadata.Index;
                n.StateHash = DecodeState(s.Data.Span);
                Checker.ObserveSnapshotRestore(n.Id, n.Applied, n.StateHash);
                Log($"{n.Id} restored snapshot {s.Metadata.Index} {s.Metadata.ConfState}");
            }
            foreach (var e in rd.CommittedEntries)
            {
                if (e.Index != n.Applied + 1) Checker.Violations.Add($"tick {_now}: member {n.Id} applies {e.Index} after {n.Applied}");
                var dataHash = Fnv(e.Data.Span) ^ (ulong)e.Type;
                if (e.Type == EntryType.ConfChange)
                {
                    var cc = ConfChangeCodec.Decode(e.Data.Span);
                    var cs = r.ApplyConfChange(cc);
                    if (cc.Type == ConfChangeType.RemoveMember) _removed.Add(cc.MemberId);
                    Log($"{n.Id} applied conf change {cc.Type} {cc.MemberId} at {e.Index} -> {cs}");
                }
                else if (e.Data.Length >= 8)
                {
                    n.AppliedClientIds.Add(BitConverter.ToUInt64(e.Data.Span));
                }
                n.StateHash = Mix(n.StateHash, e.Index, e.Term, dataHash);
                n.Applied = e.Index;
                Checker.ObserveApply(n.Id, e.Index, e.Term, dataHash, n.StateHash);
                if (crashAt == 4 && _rng.Next(4) == 0) { Crash(n, "while applying"); return; }
            }
            foreach (var rs in rd.ReadStates)
            {
                var key = Convert.ToHexString(rs.Context.Span);
                if (_reads.Remove(key, out var req)) Checker.ObserveRead(req.Member, rs.Index, req.AckedBefore);
            }
            r.Advance(rd);
            if (_o.Snapshots && n.Applied >= n.Disk.Snapshot.Metadata.Index + _snapshotEvery && n.Applied == r.AppliedIndex)
            {
                var snapshot = r.SnapshotAndCompact(n.Disk, EncodeState(n.StateHash));
                if (snapshot is not null) Log($"{n.Id} snapshot at {snapshot.Metadata.Index}, first index now {n.Disk.FirstIndex}");
            }
        }
    }

    private void ObserveEntries(SimNode n, IReadOnlyList<Entry> entries)
    {
        if (entries.Count == 0) return;
        var log = n.Raft!.Core.Log;
        ulong? prev = log.TryTerm(entries[0].Index - 1, out var pt) ? pt : null;
        foreach (var e in entries)
        {
            Checker.ObserveEntry(e.Index, e.Term, prev, Fnv(e.Data.Span) ^ (ulong)e.Type, n.Id);
            prev = e.Term;
        }
    }

    private readonly Dictionary<ulong, ulong> _commitObserved = [];

    private void ObserveCommitted(SimNode n, ulong commit)
    {
        var log = n.Raft!.Core.Log;
        var from = Math.Max(_commitObserved.GetValueOrDefault(n.Id), log.FirstIndex - 1) + 1;
        for (var i = from; i <= commit; i++)
            if (log.TryTerm(i, out var t)) Checker.ObserveCommitted(i, t, n.Id);
        _commitObserved[n.Id] = commit;
    }

    // ---------------------------------------------------------------- faults and load

    private SimNode? RandomAlive()
    {
        var alive = _nodes.Values.Where(n => n.Alive).ToList();
        return alive.Count == 0 ? null : alive[_rng.Next(alive.Count)];
    }

    private void Faults()
    {
        if (!_o.Faults) return;
        if (_rng.NextDouble() < _crashRate && RandomAlive() is { } victim) Crash(victim, "random");
        var roll = _rng.NextDouble() / _storm;
        if (roll < 0.01)
        {
            // Symmetric partition: a random side against the rest.
            _blocked.Clear();
            var ids = _nodes.Keys.ToList();
            var side = ids.Where(_ => _rng.Next(2) == 0).ToHashSet();
            foreach (var a in ids)
                foreach (var b in ids)
                    if (side.Contains(a) != side.Contains(b)) _blocked.Add((a, b));
            Log($"partition [{string.Join(',', side)}]");
        }
        else if (roll < 0.02)
        {
            // Asymmetric: one direction of one link.
            var ids = _nodes.Keys.ToList();
            var a = ids[_rng.Next(ids.Count)];
            var b = ids[_rng.Next(ids.Count)];
            if (a != b) _blocked.Add((a, b));
            Log($"cut {a}->{b}");
        }
        else if (roll < 0.035)
        {
            _blocked.Clear();
            Log("partitions healed");
        }
    }

    private void ClientLoad()
    {
        var proposals = _rng.Next(0, 3);
        for (var i = 0; i < proposals; i++)
        {
            if (RandomAlive() is not { } n) break;
            var id = _nextClientId++;
            n.Raft!.TryPropose(ClientCommand(id, _rng.Next(0, 300)));
        }
        if (_rng.NextDouble() < 0.05 && RandomAlive() is { } reader)
        {
            var ctx = BitConverter.GetBytes(_nextClientId++);
            _reads[Convert.ToHexString(ctx)] = (reader.Id, Checker.MaxApplied);
            reader.Raft!.ReadIndex(ctx);
        }
        var leader = CurrentLeader();
        if (leader is null) return;
        if (_rng.NextDouble() < 0.01)
        {
            var voters = leader.Raft!.ConfState.Voters;
            leader.Raft.TransferLeadership(voters[_rng.Next(voters.Count)]);
        }
        if (_o.Membership && _rng.NextDouble() < 0.02) ProposeMembershipChange(leader);
    }

    private void ProposeMembershipChange(SimNode leader)
    {
        var cs = leader.Raft!.ConfState;
        var choice = _rng.Next(4);
        ConfChange? cc = null;
        if (choice == 0)
        {
            var spare = _nodes.Values.FirstOrDefault(n => n.Id > (ulong)_o.Members && !_removed.Contains(n.Id)
                && !cs.Voters.Contains(n.Id) && !cs.Learners.Contains(n.Id));
            if (spare is not null)
            {
                // A joining member starts with empty storage and learns everything from the leader.
                if (!spare.Started) Start(spare);
                cc = new ConfChange(ConfChangeType.AddLearner, spare.Id, default);
            }
        }
        else if (choice == 1 && cs.Learners.Count > 0)
        {
            cc = new ConfChange(ConfChangeType.AddVoter, cs.Learners[_rng.Next(cs.Learners.Count)], default);
        }
        else if (choice == 2 && cs.Voters.Count > 3)
        {
            cc = new ConfChange(ConfChangeType.RemoveMember, cs.Voters[_rng.Next(cs.Voters.Count)], default);
        }
        else if (choice == 3 && cs.Learners.Count > 0)
        {
            cc = new ConfChange(ConfChangeType.RemoveMember, cs.Learners[_rng.Next(cs.Learners.Count)], default);
        }
        if (cc is { } change)
        {
            var status = leader.Raft.TryProposeConfChange(change);
            Log($"propose conf change {change.Type} {change.MemberId} on {leader.Id}: {status}");
        }
    }

    // ---------------------------------------------------------------- state machine encoding

    private static byte[] ClientCommand(ulong id, int padding)
    {
        var data = new byte[8 + padding];
        BitConverter.TryWriteBytes(data, id);
        for (var i = 8; i < data.Length; i++) data[i] = (byte)(id + (ulong)i);
        return data;
    }

    private static byte[] EncodeState(ulong hash) => BitConverter.GetBytes(hash);

    private static ulong DecodeState(ReadOnlySpan<byte> data) => data.Length == 8 ? BitConverter.ToUInt64(data) : 0;

    internal static ulong Fnv(ReadOnlySpan<byte> data)
    {
        var h = 14695981039346656037UL;
        foreach (var b in data) h = (h ^ b) * 1099511628211UL;
        return h;
    }

    private static ulong Mix(ulong state, ulong index, ulong term, ulong dataHash)
    {
        var h = state ^ (index * 0x9E3779B97F4A7C15UL);
        h = (h ^ term) * 0xBF58476D1CE4E5B9UL;
        h = (h ^ dataHash) * 0x94D049BB133111EBUL;
        return h ^ (h >> 31);
    }
}
