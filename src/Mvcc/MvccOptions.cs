namespace Cairn.Mvcc;

/// <summary>Limits and hooks of a <see cref="KvStore"/>.</summary>
public sealed class MvccOptions
{
    /// <summary>Most compares, or ops in one branch, a txn may hold (etcd's --max-txn-ops, default 128).</summary>
    public int MaxTxnOps { get; init; } = 128;

    /// <summary>
    /// Tells whether a lease id exists; a put naming a lease for which this returns false fails with
    /// "etcdserver: requested lease not found". Null: every lease id is accepted.
    /// </summary>
    public Func<long, bool>? LeaseExists { get; init; }
}
