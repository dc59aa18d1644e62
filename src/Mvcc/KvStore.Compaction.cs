using Cairn.Protocol;
using Etcdserverpb;

namespace Cairn.Mvcc;

public sealed partial class KvStore
{
    /// <summary>Drops history below the revision (keeping each key's latest version at or before it).</summary>
    /// <remarks>
    /// etcd: a revision after the current one fails with the future-revision error; one at or below
    /// the previous compaction with the compacted error (a fresh store has compaction revision -1,
    /// so compacting at 0 succeeds once and does nothing). After compacting at C, reads at C and
    /// later are unchanged, reads below C fail, a key whose latest change at or before C is a delete
    /// disappears from the index, and the event log starts at C — holding only the changes of C that
    /// survived (a delete at C is gone, as in etcd, whose watch from C does not replay it).
    /// The work is done synchronously under the write lock (etcd compacts its index under a lock
    /// too, and the bolt deletes in the background; here there is no disk to wait for).
    /// The response header carries the current revision.
    /// </remarks>
    public CompactionResponse Compact(CompactionRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        long rev = request.Revision;
        long current;
        lock (_writeGate)
        {
            _lock.EnterWriteLock();
            try
            {
                if (rev <= _compactRevision)
                {
                    throw EtcdErrors.Compacted();
                }
                current = _revision;
                if (rev > current)
                {
                    throw EtcdErrors.FutureRev();
                }
                CompactCore(rev);
            }
            finally
            {
                _lock.ExitWriteLock();
            }
            Observer?.OnCompact(rev);
        }
        return new CompactionResponse { Header = Header(current) };
    }

    /// <summary>Caller holds the write lock.</summary>
    private void CompactCore(long rev)
    {
        Volatile.Write(ref _compactRevision, rev);
        long freed = 0;
        _keys.RemoveWhere(index =>
        {
            int dropped = index.Compact(rev, out long valueBytes);
            freed += dropped * (long)VersionOverhead + valueBytes;
            if (index.Count == 0)
            {
                freed += KeyOverhead + index.Key.Length;
                return true;
            }
            return false;
        });
        _bytes -= freed;

        // The log keeps revisions ≥ rev. Of the changes AT rev, only those the index kept (puts that
        // are still their key's version at rev) remain: etcd replays the compacted store's contents.
        long start = _log.FirstAtOrAfter(rev);
        _log.RemoveFirst(start);
        long runEnd = _log.FirstAtOrAfter(rev + 1);
        if (runEnd > 0)
        {
            long write = runEnd;
            for (long i = runEnd - 1; i >= 0; i--)
            {
                var v = _log[i];
                var index = v.IsTombstone ? null : _keys.Get(v.Kv.Key.Span);
                bool kept = index is not null && index.Count > 0 && index[0].Main == v.Main && index[0].Sub == v.Sub;
                if (kept)
                {
                    _log.Set(--write, v);
                }
            }
            for (long i = 0; i < write; i++)
            {
                _log.Set(i, default);
            }
            _log.RemoveFirst(write);
        }
    }
}
