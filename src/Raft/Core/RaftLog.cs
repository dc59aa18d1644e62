namespace Cairn.Raft;

/// <summary>
/// The log as one member sees it: durable entries in <see cref="IRaftStorage"/> followed by the
/// <see cref="UnstableLog"/>, plus the commit and apply cursors. Invariant:
/// <c>FirstIndex - 1 ≤ Applied ≤ Committed ≤ LastIndex</c>, and Committed never decreases.
/// </summary>
internal sealed class RaftLog
{
    private readonly IRaftStorage _storage;

    public RaftLog(IRaftStorage storage)
    {
        _storage = storage;
        var first = storage.FirstIndex;
        Unstable = new UnstableLog(storage.LastIndex + 1);
        Committed = first - 1;
        Applied = first - 1;
    }

    public UnstableLog Unstable { get; }
    public ulong Committed { get; private set; }
    public ulong Applied { get; private set; }

    public ulong FirstIndex => Unstable.TryFirstIndex(out var i) ? i : _storage.FirstIndex;
    public ulong LastIndex => Unstable.TryLastIndex(out var i) ? i : _storage.LastIndex;
    public ulong LastTerm => TermOrZero(LastIndex);

    /// <summary>Last index known durable on this member (the leader counts itself in quorums only up to here).</summary>
    public ulong LastStableIndex => Unstable.Count > 0 ? Unstable.Offset - 1 : LastIndex;

    public bool TryTerm(ulong index, out ulong term)
    {
        term = 0;
        // The term of FirstIndex - 1 stays known (snapshot or the storage's dummy entry).
        if (index + 1 < FirstIndex || index > LastIndex) return false;
        if (Unstable.TryTerm(index, out term)) return true;
        return _storage.TryGetTerm(index, out term) == StorageStatus.Ok;
    }

    public ulong TermOrZero(ulong index) => TryTerm(index, out var t) ? t : 0;

    public bool MatchTerm(ulong index, ulong term) => TryTerm(index, out var t) && t == term;

    /// <summary>
    /// Up-to-date check of the election restriction (§5.4.1): a candidate's log is at least as up to date
    /// as ours if its last term is higher, or equal with an index at least ours.
    /// </summary>
    public bool IsUpToDate(ulong lastIndex, ulong lastTerm) =>
        lastTerm > LastTerm || (lastTerm == LastTerm && lastIndex >= LastIndex);

    /// <summary>Index of the first entry whose term differs from ours (or that we lack); 0 if all match.</summary>
    public ulong FindConflict(ReadOnlySpan<Entry> entries)
    {
        foreach (var e in entries)
            if (!MatchTerm(e.Index, e.Term)) return e.Index;
        return 0;
    }

    /// <summary>
    /// Fast backtracking: the largest index ≤ <paramref name="index"/> whose term is ≤ <paramref name="term"/>,
    /// with that term. Every entry after it has a bigger term than <paramref name="term"/>, so none of them can
    /// match a log whose entry at <paramref name="index"/> has term <paramref name="term"/> (terms are
    /// non-decreasing along a log). Example: ours t1 t1 t3 t3 t3, probe (5, t2) → (2, t1): skip 3 entries at once.
    /// </summary>
    public (ulong Index, ulong Term) FindConflictByTerm(ulong index, ulong term)
    {
        while (true)
        {
            if (!TryTerm(index, out var t)) return (index, 0);
            if (t <= term) return (index, t);
            if (index == 0) return (0, 0);
            index--;
        }
    }

    /// <summary>
    /// Follower side of AppendEntries: if we hold (index, logTerm), append the entries (truncating a
    /// conflicting suffix, never a committed one) and advance commit to min(leaderCommit, last new index).
    /// </summary>
    public bool TryAppend(ulong index, ulong logTerm, ulong leaderCommit, Entry[] entries, out ulong lastNewIndex)
    {
        lastNewIndex = 0;
        if (!MatchTerm(index, logTerm)) return false;
        lastNewIndex = index + (ulong)entries.Length;
        var conflict = FindConflict(entries);
        if (conflict != 0)
        {
            if (conflict <= Committed) throw new InvalidOperationException($"entry {conflict} conflicts with committed entry (committed {Committed})");
            Append(entries.AsSpan((int)(conflict - (index + 1))));
        }
        CommitTo(Math.Min(leaderCommit, lastNewIndex));
        return true;
    }

    public ulong Append(ReadOnlySpan<Entry> entries)
    {
        if (entries.Length == 0) return LastIndex;
        if (entries[0].Index - 1 < Committed) throw new InvalidOperationException($"append after {entries[0].Index - 1} is below committed {Committed}");
        Unstable.TruncateAndAppend(entries);
        return LastIndex;
    }

    public void CommitTo(ulong index)
    {
        if (index <= Committed) return;
        if (index > LastIndex) throw new InvalidOperationException($"commit {index} is past the last index {LastIndex}");
        Committed = index;
    }

    /// <summary>Leader commit rule (§5.4.2): only an entry of the current term is committed by counting replicas.</summary>
    public bool MaybeCommit(ulong index, ulong term)
    {
        if (index > Committed && TermOrZero(index) == term)
        {
            CommitTo(index);
            return true;
        }
        return false;
    }

    public void AppliedTo(ulong index)
    {
        if (index == 0) return;
        if (index > Committed || index < Applied) throw new InvalidOperationException($"applied {index} outside [{Applied},{Committed}]");
        Applied = index;
    }

    public void StableTo(ulong index, ulong term) => Unstable.StableTo(index, term);
    public void StableSnapTo(ulong index) => Unstable.StableSnapTo(index);

    public bool HasNextCommittedEntries => Committed > Math.Max(Applied, FirstIndex - 1) && !HasPendingSnapshot;
    public bool HasPendingSnapshot => Unstable.Snapshot is not null;

    public Entry[] NextCommittedEntries(ulong maxBytes)
    {
        if (HasPendingSnapshot) return [];
        var low = Math.Max(Applied + 1, FirstIndex);
        if (low > Committed) return [];
        var status = Slice(low, Committed + 1, maxBytes, out var entries);
        if (status != StorageStatus.Ok) throw new InvalidOperationException($"committed entries from {low} unavailable: {status}");
        return entries;
    }

    public Snapshot Snapshot => Unstable.Snapshot ?? _storage.Snapshot;

    public void Restore(Snapshot snapshot)
    {
        Committed = snapshot.Metadata.Index;
        Unstable.Restore(snapshot);
    }

    /// <summary>After a snapshot is applied by the application, the apply cursor jumps to it.</summary>
    public void AppliedSnapshot(ulong index)
    {
        if (index > Applied) Applied = index;
    }

    public StorageStatus Entries(ulong low, ulong maxBytes, out Entry[] entries)
    {
        if (low > LastIndex) { entries = []; return StorageStatus.Ok; }
        return Slice(low, LastIndex + 1, maxBytes, out entries);
    }

    public StorageStatus Slice(ulong low, ulong high, ulong maxBytes, out Entry[] entries)
    {
        entries = [];
        if (low < FirstIndex) return StorageStatus.Compacted;
        if (high > LastIndex + 1) throw new InvalidOperationException($"slice [{low},{high}) past last index {LastIndex}");
        if (low >= high) return StorageStatus.Ok;
        var offset = Unstable.Offset;
        Entry[] stored = [];
        if (low < offset)
        {
            var status = _storage.TryGetEntries(low, Math.Min(high, offset), maxBytes, out stored);
            if (status != StorageStatus.Ok) return status;
            // Storage stopped early because of the size limit: that is the whole answer.
            if ((ulong)stored.Length < Math.Min(high, offset) - low) { entries = stored; return StorageStatus.Ok; }
        }
        if (high <= offset) { entries = stored; return StorageStatus.Ok; }
        var unstable = Unstable.Slice(Math.Max(low, offset), high);
        var combined = stored.Length == 0 ? unstable : [.. stored, .. unstable];
        entries = LimitSize(combined, maxBytes);
        return StorageStatus.Ok;
    }

    public static Entry[] LimitSize(Entry[] entries, ulong maxBytes)
    {
        if (entries.Length <= 1) return entries;
        ulong size = (ulong)entries[0].Size;
        var n = 1;
        for (; n < entries.Length; n++)
        {
            size += (ulong)entries[n].Size;
            if (size > maxBytes) break;
        }
        return n == entries.Length ? entries : entries[..n];
    }
}
