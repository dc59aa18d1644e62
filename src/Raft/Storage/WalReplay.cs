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
/// its segment's buffer alive.
/// </remarks>
public sealed class WalReplay
{
    internal WalReplay(HardState hardState, WalSnapshotMarker snapshot, IReadOnlyList<Entry> entries, WalTailTruncation? truncated)
    {
        HardState = hardState;
        Snapshot = snapshot;
        Entries = entries;
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
}
