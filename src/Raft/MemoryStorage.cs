namespace Cairn.Raft;

/// <summary>
/// An in-memory <see cref="IRaftStorage"/> that the application also writes to (like etcd-raft's MemoryStorage).
/// Used by tests, the simulator, the benchmark, and as the core-facing cache in front of a WAL: write to the WAL,
/// fsync, then mirror here. Not thread-safe.
/// </summary>
public sealed class MemoryStorage : IRaftStorage
{
    // _entries[0] is a dummy entry at the snapshot's (index, term): it keeps the term of the compaction
    // point known, which the leader needs for the consistency check of the first append after it.
    private readonly List<Entry> _entries = [new Entry(0, 0, EntryType.Normal, default)];
    private HardState _hardState;
    private Snapshot _snapshot = Snapshot.Empty;

    /// <inheritdoc />
    public (HardState HardState, ConfState ConfState) InitialState() => (_hardState, _snapshot.Metadata.ConfState);

    /// <summary>The last hard state written with <see cref="SetHardState"/>.</summary>
    public HardState HardState => _hardState;

    /// <inheritdoc />
    public ulong FirstIndex => _entries[0].Index + 1;

    /// <inheritdoc />
    public ulong LastIndex => _entries[0].Index + (ulong)_entries.Count - 1;

    /// <inheritdoc />
    public Snapshot Snapshot => _snapshot;

    /// <summary>Persists the hard state.</summary>
    /// <param name="state">State from <see cref="Ready.HardState"/>.</param>
    public void SetHardState(HardState state) => _hardState = state;

    /// <inheritdoc />
    public StorageStatus TryGetTerm(ulong index, out ulong term)
    {
        var offset = _entries[0].Index;
        term = 0;
        if (index < offset) return StorageStatus.Compacted;
        if (index - offset >= (ulong)_entries.Count) return StorageStatus.Unavailable;
        term = _entries[(int)(index - offset)].Term;
        return StorageStatus.Ok;
    }

    /// <inheritdoc />
    public StorageStatus TryGetEntries(ulong low, ulong high, ulong maxBytes, out Entry[] entries)
    {
        var offset = _entries[0].Index;
        entries = [];
        if (low <= offset) return StorageStatus.Compacted;
        if (high > LastIndex + 1) throw new ArgumentOutOfRangeException(nameof(high), $"entries up to {high - 1} requested, last is {LastIndex}");
        if (_entries.Count == 1 || low >= high) return StorageStatus.Ok;
        var start = (int)(low - offset);
        var count = (int)(high - low);
        ulong size = 0;
        var n = 0;
        for (; n < count; n++)
        {
            size += (ulong)_entries[start + n].Size;
            if (n > 0 && size > maxBytes) break;
        }
        entries = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_entries).Slice(start, n).ToArray();
        return StorageStatus.Ok;
    }

    /// <summary>
    /// Replaces the whole content with <paramref name="snapshot"/> (a snapshot received from the leader, or
    /// <see cref="Snapshot.Bootstrap"/> on a founding member). Refuses a snapshot older than the current one.
    /// </summary>
    /// <param name="snapshot">Snapshot from <see cref="Ready.Snapshot"/>.</param>
    public void ApplySnapshot(Snapshot snapshot)
    {
        if (snapshot.Metadata.Index < _snapshot.Metadata.Index) throw new InvalidOperationException("snapshot is out of date");
        _snapshot = snapshot;
        _entries.Clear();
        _entries.Add(new Entry(snapshot.Metadata.Index, snapshot.Metadata.Term, EntryType.Normal, default));
    }

    /// <summary>
    /// Records a snapshot of the applied state at <paramref name="index"/> (≤ the last entry) and returns it.
    /// Does not compact; call <see cref="Compact"/> separately, usually keeping a catch-up tail.
    /// </summary>
    /// <param name="index">Applied index the data reflects.</param>
    /// <param name="confState">Membership as of <paramref name="index"/>.</param>
    /// <param name="data">Serialized state machine, or empty when the application keeps it elsewhere (Cairn's
    /// member keeps it in the snapshot file only and sends the file when a follower needs it).</param>
    public Snapshot CreateSnapshot(ulong index, ConfState confState, ReadOnlyMemory<byte> data)
    {
        if (index <= _snapshot.Metadata.Index) throw new InvalidOperationException("snapshot is out of date");
        if (index > LastIndex) throw new ArgumentOutOfRangeException(nameof(index), $"snapshot at {index} is past the last entry {LastIndex}");
        TryGetTerm(index, out var term);
        _snapshot = new Snapshot(new SnapshotMetadata(index, term, confState), data);
        return _snapshot;
    }

    /// <summary>Discards entries up to and including <paramref name="compactIndex"/>, keeping its term known. Only compact what is covered by a snapshot.</summary>
    /// <param name="compactIndex">New dummy index (≤ <see cref="LastIndex"/>).</param>
    public void Compact(ulong compactIndex)
    {
        var offset = _entries[0].Index;
        if (compactIndex <= offset) return;
        if (compactIndex > LastIndex) throw new ArgumentOutOfRangeException(nameof(compactIndex), $"compact {compactIndex} is past the last entry {LastIndex}");
        var i = (int)(compactIndex - offset);
        var dummy = _entries[i] with { Type = EntryType.Normal, Data = default };
        _entries.RemoveRange(0, i);
        _entries[0] = dummy;
    }

    /// <summary>
    /// Persists entries from <see cref="Ready.Entries"/>: entries at or after the first new index replace what
    /// was there (a new leader may overwrite an uncommitted suffix). Entries already compacted are skipped.
    /// </summary>
    /// <param name="entries">Consecutive entries.</param>
    public void Append(IReadOnlyList<Entry> entries)
    {
        if (entries.Count == 0) return;
        var first = FirstIndex;
        var last = entries[^1].Index;
        if (last < first) return;
        var skip = entries[0].Index < first ? (int)(first - entries[0].Index) : 0;
        var start = entries[skip].Index;
        if (start > LastIndex + 1) throw new InvalidOperationException($"missing log entries: last {LastIndex}, appending at {start}");
        var keep = (int)(start - _entries[0].Index);
        _entries.RemoveRange(keep, _entries.Count - keep);
        for (var i = skip; i < entries.Count; i++) _entries.Add(entries[i]);
    }
}
