using Cairn.Protocol;
using Etcdserverpb;
using Google.Protobuf;
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
/// Sharing: the <see cref="KeyValue"/> instances returned (in responses, events and by
/// <see cref="Get"/>) are the store's own and are shared between callers; never mutate them.
/// The store keeps the request's key and value <see cref="ByteString"/>s (immutable).
/// </remarks>
public sealed partial class KvStore
{
    // Lock order: _writeGate, then _lock. Readers take only _lock (read mode). Writers take
    // _writeGate for the whole write including the observer callback (so OnWrite calls arrive in
    // revision order and never overlap), and _lock in write mode only while mutating; the observer
    // runs after _lock is released and may call the read methods.
    private readonly object _writeGate = new();
    private readonly ReaderWriterLockSlim _lock = new(LockRecursionPolicy.NoRecursion);

    private readonly MvccOptions _options;

    // Guarded by _lock.
    private readonly KeyTree _keys = new();
    private readonly EventLog _log = new();

    // Written under _lock (write mode); read under it, or with Volatile by the lock-free getters.
    private long _revision = 1;
    // etcd's compactMainRev starts at -1: compacting at 0 on a fresh store succeeds once.
    private long _compactRevision = -1;
    private long _bytes;

    /// <summary>Rough per-key overhead in bytes: KeyIndex, its array, the key ByteString, tree slot.</summary>
    internal const int KeyOverhead = 120;

    /// <summary>Rough per-version overhead in bytes: KeyValue, index entry, log entry.</summary>
    internal const int VersionOverhead = 112;

    /// <summary>Creates an empty store at revision 1 (etcd's initial revision).</summary>
    public KvStore(MvccOptions? options = null) => _options = options ?? new MvccOptions();

    /// <summary>Told of every committed write and compaction; set once before the first write.</summary>
    public IWriteObserver? Observer { get; set; }

    /// <summary>The latest published revision (1 for an empty store).</summary>
    public long Revision => Volatile.Read(ref _revision);

    /// <summary>The revision of the last compaction (0 if never compacted).</summary>
    public long CompactRevision => Math.Max(0, Volatile.Read(ref _compactRevision));

    /// <summary>Approximate bytes held (keys, values and index), for Status' db size and quotas.</summary>
    public long ApproximateBytes => Volatile.Read(ref _bytes);

    /// <summary>The options the store was created with.</summary>
    public MvccOptions Options => _options;

    /// <summary>Number of keys in the index, including deleted ones whose history is retained.</summary>
    internal int IndexedKeyCount => _keys.Count;

    internal KeyIndex? IndexOf(ReadOnlySpan<byte> key) => _keys.Get(key);

    /// <summary>The key's value as of <paramref name="revision"/>, or null if absent/deleted or compacted away (watch prev_kv).</summary>
    /// <remarks>Revision ≤ 0 means the current one; a future revision gives null.</remarks>
    public KeyValue? Get(ReadOnlySpan<byte> key, long revision)
    {
        _lock.EnterReadLock();
        try
        {
            long current = _revision;
            if (revision <= 0)
            {
                revision = current;
            }
            if (revision > current || revision < _compactRevision)
            {
                return null;
            }
            return _keys.Get(key)?.ValueAt(revision);
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    /// <summary>Publishes a committed write and tells the observer. Called with _writeGate held and _lock released.</summary>
    private void Notify(long revision, long logStart)
    {
        var observer = Observer;
        if (observer is null)
        {
            return;
        }
        // Only this thread (holding _writeGate) mutates the log, so reading it without _lock is safe.
        var events = new List<Event>((int)(_log.Count - logStart));
        for (long i = logStart; i < _log.Count; i++)
        {
            events.Add(ToEvent(_log[i]));
        }
        observer.OnWrite(revision, events);
    }

    /// <summary>A fresh Event (callers may set its prev_kv) around a shared KeyValue.</summary>
    private static Event ToEvent(in KeyVersion v) => new()
    {
        Type = v.IsTombstone ? Event.Types.EventType.Delete : Event.Types.EventType.Put,
        Kv = v.Kv,
    };

    private static ResponseHeader Header(long revision) => new() { Revision = revision };
}
