using Google.Protobuf;

namespace Cairn.Mvcc;

public sealed partial class KvStore
{
    // Lease id → the keys whose current (latest) value is attached to it. Guarded by _lock;
    // updated when a write commits (so a failed write never has to undo it).
    private readonly Dictionary<long, HashSet<KeyIndex>> _leaseKeys = [];

    /// <summary>
    /// The keys currently attached to <paramref name="lease"/> (their latest value carries it), in key
    /// order: what a lease revoke deletes. Kept up to date on every write, so this costs
    /// O(k log k) for the k keys of the lease rather than a scan of the store.
    /// </summary>
    public List<ByteString> KeysWithLease(long lease)
    {
        var keys = new List<ByteString>();
        _lock.EnterReadLock();
        try
        {
            if (_leaseKeys.TryGetValue(lease, out var set))
            {
                foreach (var index in set)
                {
                    keys.Add(index.Key);
                }
            }
        }
        finally
        {
            _lock.ExitReadLock();
        }
        keys.Sort(static (a, b) => a.Span.SequenceCompareTo(b.Span));
        return keys;
    }

    /// <summary>Moves the txn's keys between lease sets. Caller holds the write lock, before publication.</summary>
    private void UpdateLeaseIndex(TxnState tx)
    {
        foreach (var (index, _) in tx.Touched)
        {
            long before = index.ValueAt(tx.Begin)?.Lease ?? 0;
            long after = index.Latest?.Lease ?? 0;
            if (before == after)
            {
                continue;
            }
            if (before != 0 && _leaseKeys.TryGetValue(before, out var old))
            {
                old.Remove(index);
                if (old.Count == 0)
                {
                    _leaseKeys.Remove(before);
                }
            }
            if (after != 0)
            {
                AttachLease(after, index);
            }
        }
    }

    private void AttachLease(long lease, KeyIndex index)
    {
        if (!_leaseKeys.TryGetValue(lease, out var set))
        {
            set = [];
            _leaseKeys.Add(lease, set);
        }
        set.Add(index);
    }

    /// <summary>Rebuilds the lease sets from the keys' latest values (after loading a snapshot).</summary>
    private void RebuildLeaseIndex()
    {
        _leaseKeys.Clear();
        for (var c = _keys.First(); c.Valid; c.Next())
        {
            long lease = c.Current.Latest?.Lease ?? 0;
            if (lease != 0)
            {
                AttachLease(lease, c.Current);
            }
        }
    }
}
