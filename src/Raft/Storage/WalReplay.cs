namespace Cairn.Raft.Storage;

/// <summary>The index and term of the last snapshot recorded in the WAL (both 0 for none).</summary>
/// <param name="Index">Last log index covered by the snapshot.</param>
/// <param name="Term">Term of the entry at <paramref name="Index"/>.</param>
public readonly record struct WalSnapshotMarker(ulong Index, ulong Term);

/// <summary>A torn or damaged tail that <see cref="WriteAheadLog.Open"/> cut off; worth logging.</summary>
/// <param name="FilePath">The last segment.</param>
/// <param name="Offset">Where the first bad record started; the segment now ends here.</param>
/// <param name="DiscardedBytes">Bytes from <paramref name="Offset"/> to the old end of file.</param>
/// <param name="Reason">Why the record at <paramref name="Offset"/> was rejected.</param>
public sealed record WalTailTruncation(string FilePath, long Offset, long DiscardedBytes, string Reason);

/// <summary>
/// What a restarted member recovers from its WAL: exactly the state whose writes completed, in the
/// form the Raft core needs to rebuild its log.
/// </summary>
/// <remarks>
/// <see cref="Entries"/> are those after <see cref="Snapshot"/>, contiguous from
/// <c>Snapshot.Index + 1</c>, with overwrites applied: appending an entry at index i discarded every
/// earlier-written entry at index i or above (a new leader's conflicting suffix). Their
/// <see cref="Entry.Data"/> are slices of the segment buffers read at open, so holding an entry keeps
/// its segment's buffer alive. Entries below the snapshot that the WAL still holds are kept too, for
/// <see cref="TryGetEntriesAfter"/>.
/// </remarks>
public sealed class WalReplay
{
    private readonly List<Entry> _retained;

    internal WalReplay(HardState hardState, WalSnapshotMarker snapshot, List<Entry> retained, WalTailTruncation? truncated)
    {
        HardState = hardState;
        Snapshot = snapshot;
        _retained = retained;
        int after = retained.FindIndex(e => e.Index > snapshot.Index);
        Entries = after < 0 ? Array.Empty<Entry>() : after == 0 ? retained : retained.GetRange(after, retained.Count - after);
        TruncatedTail = truncated;
    }

    /// <summary>The last hard state written, or <see cref="HardState.Empty"/>.</summary>
    public HardState HardState { get; }

    /// <summary>The last snapshot marker written, or (0, 0).</summary>
    public WalSnapshotMarker Snapshot { get; }

    /// <summary>The log after the snapshot, in index order.</summary>
    public IReadOnlyList<Entry> Entries { get; }

    /// <summary>Index of the last entry (or of the snapshot when there are no entries).</summary>
    public ulong LastIndex => Entries.Count > 0 ? Entries[^1].Index : Snapshot.Index;

    /// <summary>Set when a torn tail was cut off during open; null for a clean log.</summary>
    public WalTailTruncation? TruncatedTail { get; }

    /// <summary>
    /// The log after an OLDER snapshot (<paramref name="index"/>, <paramref name="term"/>) — for when the
    /// newest snapshot file is corrupt and the member falls back to the previous one. Succeeds only if
    /// the WAL still holds every entry from <paramref name="index"/> + 1 on (segments were not released
    /// past it) and they belong to that snapshot's history.
    /// </summary>
    public bool TryGetEntriesAfter(ulong index, ulong term, out IReadOnlyList<Entry> entries)
    {
        entries = Array.Empty<Entry>();
        if (index == Snapshot.Index)
        {
            if (term != Snapshot.Term) return false;
            entries = Entries;
            return true;
        }
        if (index > LastIndex) return false;
        if (_retained.Count == 0 || _retained[0].Index > index + 1) return false;
        if (index >= _retained[0].Index && _retained[(int)(index - _retained[0].Index)].Term != term) return false;
        int from = (int)(index + 1 - _retained[0].Index);
        entries = _retained.GetRange(from, _retained.Count - from);
        return true;
    }
}
