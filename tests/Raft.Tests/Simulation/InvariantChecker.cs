namespace Cairn.Raft.Tests.Simulation;

/// <summary>
/// Checks Raft's safety properties (Raft paper, Figure 3) from observations of a run. It knows nothing of the
/// simulator: tests can feed it fabricated histories to prove that each check can fail. Every violation is
/// recorded (with the tick) instead of thrown, so one run reports everything it saw.
/// </summary>
internal sealed class InvariantChecker
{
    private readonly Dictionary<ulong, ulong> _leaderOfTerm = [];
    private readonly Dictionary<(ulong Index, ulong Term), (ulong PrevTerm, ulong DataHash)> _entries = [];
    private readonly Dictionary<ulong, ulong> _committedTerm = [];
    private readonly Dictionary<ulong, (ulong Term, ulong DataHash, ulong StateHash)> _applied = [];
    private readonly Dictionary<ulong, ulong> _commitSeen = [];
    private readonly Dictionary<ulong, ulong> _persistedCommit = [];

    public List<string> Violations { get; } = [];
    public long Now { get; set; }
    public ulong MaxApplied { get; private set; }
    public ulong MaxCommittedKnown { get; private set; }

    private void Fail(string what)
    {
        if (Violations.Count < 20) Violations.Add($"tick {Now}: {what}");
    }

    /// <summary>Election safety: at most one leader per term.</summary>
    public void ObserveLeader(ulong term, ulong id)
    {
        if (_leaderOfTerm.TryGetValue(term, out var other) && other != id)
            Fail($"election safety: members {other} and {id} both leader in term {term}");
        else
            _leaderOfTerm[term] = id;
    }

    /// <summary>
    /// Log matching: an entry is identified by (index, term); every copy must carry the same data and follow an entry
    /// of the same term. By induction over the index this is the Log Matching Property.
    /// </summary>
    public void ObserveEntry(ulong index, ulong term, ulong? prevTerm, ulong dataHash, ulong member)
    {
        if (_entries.TryGetValue((index, term), out var seen))
        {
            if (seen.DataHash != dataHash)
                Fail($"log matching: member {member} holds a different entry ({index},t{term}) (data differs)");
            if (prevTerm is { } p && seen.PrevTerm != ulong.MaxValue && seen.PrevTerm != p)
                Fail($"log matching: member {member} entry ({index},t{term}) follows term {p}, another copy follows {seen.PrevTerm}");
            else if (prevTerm is { } p2 && seen.PrevTerm == ulong.MaxValue)
                _entries[(index, term)] = (p2, dataHash);
        }
        else
        {
            _entries[(index, term)] = (prevTerm ?? ulong.MaxValue, dataHash);
        }
    }

    /// <summary>A member learned that (index, term) is committed; committed entries never change.</summary>
    public void ObserveCommitted(ulong index, ulong term, ulong member)
    {
        if (_committedTerm.TryGetValue(index, out var t))
        {
            if (t != term) Fail($"committed entry changed: index {index} committed with term {t}, member {member} has term {term}");
        }
        else
        {
            _committedTerm[index] = term;
            if (index > MaxCommittedKnown) MaxCommittedKnown = index;
        }
    }

    /// <summary>Commit index is monotonic within a life and never below what the member persisted.</summary>
    public void ObserveCommitIndex(ulong member, ulong commit)
    {
        if (_commitSeen.TryGetValue(member, out var prev) && commit < prev)
            Fail($"commit index of member {member} went back from {prev} to {commit}");
        _commitSeen[member] = commit;
    }

    public void ObservePersistedCommit(ulong member, ulong commit)
    {
        if (_persistedCommit.TryGetValue(member, out var prev) && commit < prev)
            Fail($"persisted commit of member {member} went back from {prev} to {commit}");
        _persistedCommit[member] = commit;
    }

    /// <summary>After a restart the member's commit index restarts from what it persisted, never below.</summary>
    public void ObserveRestart(ulong member, ulong commitAfterRestart)
    {
        var persisted = _persistedCommit.GetValueOrDefault(member);
        if (commitAfterRestart < persisted)
            Fail($"member {member} restarted with commit {commitAfterRestart} below its persisted {persisted}");
        _commitSeen[member] = commitAfterRestart;
    }

    /// <summary>Leader completeness: a new leader holds every entry committed so far (where its log still has it).</summary>
    public void ObserveNewLeaderLog(ulong member, ulong term, ulong firstIndex, ulong lastIndex, Func<ulong, ulong?> termAt)
    {
        foreach (var (index, committedTerm) in _committedTerm)
        {
            if (index + 1 < firstIndex) continue; // compacted into its snapshot, which only holds committed state
            if (index > lastIndex)
            {
                Fail($"leader completeness: leader {member} of term {term} lacks committed index {index} (last {lastIndex})");
                continue;
            }
            var t = termAt(index);
            if (t is { } actual && actual != committedTerm)
                Fail($"leader completeness: leader {member} of term {term} has term {actual} at committed index {index}, committed was term {committedTerm}");
        }
    }

    /// <summary>
    /// State machine safety: no two members apply different entries at an index, and the state after applying
    /// index i is the same everywhere.
    /// </summary>
    public void ObserveApply(ulong member, ulong index, ulong term, ulong dataHash, ulong stateHash)
    {
        if (_applied.TryGetValue(index, out var seen))
        {
            if (seen.Term != term || seen.DataHash != dataHash)
                Fail($"state machine safety: member {member} applied (t{term}, data {dataHash:x}) at {index}, another applied (t{seen.Term}, data {seen.DataHash:x})");
            else if (seen.StateHash != stateHash)
                Fail($"state machine safety: member {member} state after {index} is {stateHash:x}, another's is {seen.StateHash:x}");
        }
        else
        {
            _applied[index] = (term, dataHash, stateHash);
            if (index > MaxApplied) MaxApplied = index;
        }
        ObserveCommitted(index, term, member);
    }

    /// <summary>A member restored a snapshot at <paramref name="index"/>: its state must be the one others had there.</summary>
    public void ObserveSnapshotRestore(ulong member, ulong index, ulong stateHash)
    {
        if (_applied.TryGetValue(index, out var seen) && seen.StateHash != stateHash)
            Fail($"snapshot at {index} restored by member {member} has state {stateHash:x}, applied state was {seen.StateHash:x}");
    }

    public bool TryGetApplied(ulong index, out (ulong Term, ulong DataHash, ulong StateHash) applied) => _applied.TryGetValue(index, out applied);

    /// <summary>
    /// Durability after recovery: once faults healed and the cluster committed a new entry everywhere, every live
    /// member has applied at least everything acknowledged (applied anywhere) before the heal, and its state is the
    /// state others had at the same index.
    /// </summary>
    public void ObserveFinalState(ulong member, ulong applied, ulong stateHash, ulong acknowledgedBeforeHeal)
    {
        if (applied < acknowledgedBeforeHeal)
            Fail($"member {member} applied only up to {applied} after recovery, but {acknowledgedBeforeHeal} was acknowledged");
        if (_applied.TryGetValue(applied, out var seen) && seen.StateHash != stateHash)
            Fail($"member {member} final state at {applied} is {stateHash:x}, others had {seen.StateHash:x}");
    }

    /// <summary>Linearizable reads: the read index covers every write acknowledged before the read began.</summary>
    public void ObserveRead(ulong member, ulong readIndex, ulong ackedBeforeRequest)
    {
        if (readIndex < ackedBeforeRequest)
            Fail($"stale read on member {member}: read index {readIndex} below {ackedBeforeRequest}, acknowledged before the read started");
    }
}
