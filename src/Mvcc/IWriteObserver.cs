using Mvccpb;

namespace Cairn.Mvcc;

/// <summary>
/// Receives every change of a <see cref="KvStore"/>: the watchable store implements it.
/// </summary>
/// <remarks>
/// Ordering contract: <see cref="OnWrite"/> runs on the writer's thread, synchronously, AFTER the
/// store has published the new revision (so <see cref="KvStore.Revision"/> already returns it)
/// and BEFORE the write call returns to its caller. With that order a watcher created concurrently
/// either reads the old revision (and then receives this write through OnWrite) or reads the new
/// one (and starts after it) — it can neither miss nor duplicate the write, provided watcher
/// creation and OnWrite are serialised by the observer's own lock.
/// </remarks>
public interface IWriteObserver
{
    /// <summary>
    /// A write transaction committed <paramref name="events"/>, all with main revision
    /// <paramref name="revision"/>, in the order they happened. Never called for a transaction
    /// that changed nothing (a read-only or failed txn does not advance the revision).
    /// </summary>
    void OnWrite(long revision, IReadOnlyList<Event> events);

    /// <summary>History below <paramref name="compactRevision"/> is gone.</summary>
    void OnCompact(long compactRevision);

    /// <summary>
    /// The store's whole state was replaced by a snapshot (<see cref="KvStore.Restore"/>): it is now at
    /// <paramref name="revision"/> with history from <paramref name="compactRevision"/>. Watchers must
    /// re-read what they have not yet delivered from the new history (or be cancelled as compacted).
    /// </summary>
    void OnRestore(long revision, long compactRevision) { }
}
