namespace Cairn.Raft;

/// <summary>
/// The durable log as the core sees it: read-only. The application writes to its storage when it handles a
/// <see cref="Ready"/> (entries, hard state, snapshot) and when it compacts; the core only reads, and only
/// entries that were persisted (not yet persisted entries live in the core's own unstable buffer).
/// The model is etcd-raft's Storage: the storage holds a snapshot at index S (possibly the empty one, S = 0)
/// and the entries S+1 .. <see cref="LastIndex"/>. The term of S itself stays known after compaction.
/// Implementations are called from the thread driving the <see cref="RaftNode"/> only.
/// </summary>
public interface IRaftStorage
{
    /// <summary>The persisted hard state and the configuration of the latest snapshot.</summary>
    (HardState HardState, ConfState ConfState) InitialState();

    /// <summary>Index of the first entry still available (snapshot index + 1), even if the log is empty.</summary>
    ulong FirstIndex { get; }

    /// <summary>Index of the last persisted entry (the snapshot index when the log after it is empty).</summary>
    ulong LastIndex { get; }

    /// <summary>Term of the entry at <paramref name="index"/>, for FirstIndex - 1 ≤ index ≤ LastIndex.</summary>
    /// <param name="index">Log index.</param>
    /// <param name="term">The term when <see cref="StorageStatus.Ok"/>.</param>
    StorageStatus TryGetTerm(ulong index, out ulong term);

    /// <summary>
    /// Entries [<paramref name="low"/>, <paramref name="high"/>), stopping early once their total
    /// <see cref="Entry.Size"/> would pass <paramref name="maxBytes"/>, but always returning at least one entry.
    /// </summary>
    /// <param name="low">First index wanted.</param>
    /// <param name="high">One past the last index wanted (≤ LastIndex + 1).</param>
    /// <param name="maxBytes">Size budget.</param>
    /// <param name="entries">The entries when <see cref="StorageStatus.Ok"/>.</param>
    StorageStatus TryGetEntries(ulong low, ulong high, ulong maxBytes, out Entry[] entries);

    /// <summary>The most recent snapshot (<see cref="Snapshot.Empty"/> if none).</summary>
    Snapshot Snapshot { get; }
}
