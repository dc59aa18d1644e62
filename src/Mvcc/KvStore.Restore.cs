namespace Cairn.Mvcc;

public sealed partial class KvStore
{
    /// <summary>
    /// Replaces this store's whole state, in place, with a snapshot written by
    /// <see cref="WriteSnapshot"/> (a replica installing the leader's snapshot, or a restart).
    /// Readers see either the old state or the new one, never a mix; the observer is told with
    /// <see cref="IWriteObserver.OnRestore"/> so watchers can re-synchronise from the new history.
    /// </summary>
    /// <remarks>
    /// In place rather than a new instance because the watchable store, the lessor and the request
    /// handlers all hold this object; swapping it under them would need every holder to cooperate.
    /// The snapshot is parsed into a scratch store first, so a corrupt snapshot leaves this one intact.
    /// </remarks>
    public void Restore(Stream input)
    {
        var fresh = ReadSnapshot(input, _options);
        lock (_writeGate)
        {
            _lock.EnterWriteLock();
            try
            {
                _keys.RemoveWhere(static _ => true);
                for (var cursor = fresh._keys.First(); cursor.Valid; cursor.Next())
                    _keys.AppendSorted(cursor.Current);
                _log.RemoveFirst(_log.Count);
                for (long i = 0; i < fresh._log.Count; i++)
                    _log.Append(fresh._log[i]);
                Volatile.Write(ref _revision, fresh._revision);
                Volatile.Write(ref _compactRevision, fresh._compactRevision);
                Volatile.Write(ref _bytes, fresh._bytes);
                RebuildLeaseIndex();
            }
            finally
            {
                _lock.ExitWriteLock();
            }

            Observer?.OnRestore(Revision, CompactRevision);
        }
    }
}
