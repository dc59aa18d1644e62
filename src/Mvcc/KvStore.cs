using Etcdserverpb;
using Mvccpb;

namespace Cairn.Mvcc;

/// <summary>
/// The multi-version key-value store: every write transaction creates one new main revision;
/// reads see the store at the current or any retained past revision.
/// </summary>
/// <remarks>
/// Threading: one writer at a time (the apply loop); any number of concurrent readers.
/// Every method throws <see cref="Cairn.Protocol.RpcException"/> with etcd's message and code on
/// bad input, and a write that fails changes nothing (no partial transaction).
/// Determinism: the state after a write depends only on the state before and the request, so
/// replicas applying the same requests in the same order hold byte-identical snapshots.
/// </remarks>
public sealed partial class KvStore
{
    /// <summary>Creates an empty store at revision 1 (etcd's initial revision).</summary>
    public KvStore(MvccOptions? options = null) => throw new NotImplementedException();

    /// <summary>Told of every committed write and compaction; set once before the first write.</summary>
    public IWriteObserver? Observer { get; set; }

    /// <summary>The latest published revision (1 for an empty store).</summary>
    public long Revision => throw new NotImplementedException();

    /// <summary>The revision of the last compaction (0 if never compacted).</summary>
    public long CompactRevision => throw new NotImplementedException();

    /// <summary>Approximate bytes held (keys, values and index), for Status' db size and quotas.</summary>
    public long ApproximateBytes => throw new NotImplementedException();

    /// <summary>Range over the current or a past revision (RangeRequest.revision &gt; 0).</summary>
    public RangeResponse Range(RangeRequest request) => throw new NotImplementedException();

    /// <summary>Puts one key (a write transaction of its own).</summary>
    public PutResponse Put(PutRequest request) => throw new NotImplementedException();

    /// <summary>Deletes a key or range (one revision, however many keys).</summary>
    public DeleteRangeResponse DeleteRange(DeleteRangeRequest request) => throw new NotImplementedException();

    /// <summary>Evaluates compares, then runs the success or failure ops as one transaction.</summary>
    public TxnResponse Txn(TxnRequest request) => throw new NotImplementedException();

    /// <summary>Drops history below the revision (keeping each key's latest version at or before it).</summary>
    public CompactionResponse Compact(CompactionRequest request) => throw new NotImplementedException();

    /// <summary>
    /// Appends to <paramref name="into"/> the events of revisions in
    /// [<paramref name="fromRevision"/>, <paramref name="toRevision"/>], in revision order, stopping at
    /// the first revision boundary after at least <paramref name="maxEvents"/> events (a revision's
    /// events are never split). Returns the first revision NOT read (toRevision + 1 when done).
    /// Throws the compacted error if fromRevision &lt; <see cref="CompactRevision"/>.
    /// DELETE events carry the key with mod_revision = the delete's revision, as etcd's do.
    /// </summary>
    public long ReadEvents(long fromRevision, long toRevision, int maxEvents, List<Event> into) => throw new NotImplementedException();

    /// <summary>The key's value as of <paramref name="revision"/>, or null if absent/deleted or compacted away (watch prev_kv).</summary>
    public KeyValue? Get(ReadOnlySpan<byte> key, long revision) => throw new NotImplementedException();

    /// <summary>Hash of all key versions with revision ≤ <paramref name="revision"/> (0: current) above the compaction (HashKV).</summary>
    public uint HashKV(long revision, out long compactRevision, out long hashRevision) => throw new NotImplementedException();

    /// <summary>Writes the whole state (every retained version, revision, compact revision) to <paramref name="output"/>.</summary>
    public void WriteSnapshot(Stream output) => throw new NotImplementedException();

    /// <summary>Rebuilds a store from <see cref="WriteSnapshot"/>'s bytes; its own snapshot is byte-identical.</summary>
    public static KvStore ReadSnapshot(Stream input, MvccOptions? options = null) => throw new NotImplementedException();
}
