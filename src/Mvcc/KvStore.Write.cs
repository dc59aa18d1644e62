using Cairn.Protocol;
using Etcdserverpb;
using Google.Protobuf;
using Mvccpb;

namespace Cairn.Mvcc;

public sealed partial class KvStore
{
    /// <summary>The running transaction: one write (or read-only) txn of etcd's mvcc.</summary>
    private sealed class TxnState
    {
        /// <summary>The store's revision when the txn began.</summary>
        public long Begin;

        /// <summary>Changes made so far; the next change's sub revision.</summary>
        public int Changes;

        /// <summary>Log length when the txn began (rollback and events).</summary>
        public long LogStart;

        /// <summary>_bytes when the txn began (rollback).</summary>
        public long BytesStart;

        /// <summary>Every version appended, in order, and whether its KeyIndex was created for it.</summary>
        public readonly List<(KeyIndex Index, bool Created)> Touched = [];

        /// <summary>
        /// The revision reads inside the txn see: the txn's own revision once it changed something
        /// (so later ops see earlier ones), the old one before (etcd's storeTxnWrite.Range).
        /// </summary>
        public long ReadRevision => Changes > 0 ? Begin + 1 : Begin;

        /// <summary>The revision of every change of this txn.</summary>
        public long WriteRevision => Begin + 1;
    }

    // Reused by every write; guarded by _writeGate.
    private readonly TxnState _writeState = new();

    /// <summary>Puts one key (a write transaction of its own).</summary>
    public PutResponse Put(PutRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        lock (_writeGate)
        {
            var tx = BeginWrite();
            PutResponse response;
            try
            {
                response = ApplyPut(tx, request, checkLease: true);
            }
            catch
            {
                Rollback(tx);
                throw;
            }
            Commit(tx);
            return response;
        }
    }

    /// <summary>Deletes a key or range (one revision, however many keys).</summary>
    public DeleteRangeResponse DeleteRange(DeleteRangeRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        lock (_writeGate)
        {
            var tx = BeginWrite();
            DeleteRangeResponse response;
            try
            {
                response = ApplyDeleteRange(tx, request);
            }
            catch
            {
                Rollback(tx);
                throw;
            }
            Commit(tx);
            return response;
        }
    }

    /// <summary>Enters the write lock and starts a write txn. Caller holds _writeGate.</summary>
    private TxnState BeginWrite()
    {
        _lock.EnterWriteLock();
        var tx = _writeState;
        tx.Begin = _revision;
        tx.Changes = 0;
        tx.LogStart = _log.Count;
        tx.BytesStart = _bytes;
        tx.Touched.Clear();
        return tx;
    }

    /// <summary>Undoes every change of the txn and leaves the write lock.</summary>
    private void Rollback(TxnState tx)
    {
        try
        {
            for (int i = tx.Touched.Count - 1; i >= 0; i--)
            {
                var (index, created) = tx.Touched[i];
                index.RemoveLast();
                if (created)
                {
                    _keys.Remove(index.Key.Span);
                }
            }
            _log.TruncateTo(tx.LogStart);
            _bytes = tx.BytesStart;
            tx.Touched.Clear();
            tx.Changes = 0;
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    /// <summary>
    /// Publishes the txn's revision (if it changed anything), leaves the write lock, then tells the
    /// observer — in that order, as <see cref="IWriteObserver"/> requires. Caller holds _writeGate.
    /// </summary>
    private void Commit(TxnState tx)
    {
        bool changed = tx.Changes > 0;
        long revision = tx.Begin + 1;
        if (changed)
        {
            UpdateLeaseIndex(tx);
            Volatile.Write(ref _revision, revision);
        }
        tx.Touched.Clear();
        _lock.ExitWriteLock();
        if (changed)
        {
            Notify(revision, tx.LogStart);
        }
    }

    /// <summary>etcd's applierV3backend.Put. <paramref name="checkLease"/>: false inside a txn (checked before).</summary>
    private PutResponse ApplyPut(TxnState tx, PutRequest p, bool checkLease)
    {
        // Outside a txn etcd checks the lease before the key; inside, checkPut does the key first.
        if (checkLease && p.Lease != 0 && !LeaseExists(p.Lease))
        {
            throw EtcdErrors.LeaseNotFound();
        }
        var index = _keys.Get(p.Key.Span);
        var prev = index?.Latest;
        if ((p.IgnoreValue || p.IgnoreLease) && prev is null)
        {
            throw EtcdErrors.KeyNotFound();
        }
        var response = new PutResponse { Header = Header(tx.WriteRevision) };
        if (p.PrevKv && prev is not null)
        {
            response.PrevKv = prev;
        }
        var value = p.IgnoreValue ? prev!.Value : p.Value;
        long lease = p.IgnoreLease ? prev!.Lease : p.Lease;
        WriteValue(tx, index, p.Key, value, lease);
        return response;
    }

    private bool LeaseExists(long lease) => _options.LeaseExists is not { } exists || exists(lease);

    /// <summary>etcd's applierV3backend.DeleteRange.</summary>
    private DeleteRangeResponse ApplyDeleteRange(TxnState tx, DeleteRangeRequest d)
    {
        var response = new DeleteRangeResponse();
        var range = new KeyRange(d.Key, d.RangeEnd);
        long deleted = 0;
        if (range.IsSingle)
        {
            var index = _keys.Get(range.Key);
            var live = index?.Latest;
            if (live is not null)
            {
                if (d.PrevKv)
                {
                    response.PrevKvs.Add(live);
                }
                WriteTombstone(tx, index!);
                deleted = 1;
            }
        }
        else
        {
            // Tombstones append to existing KeyIndexes and never reshape the tree: the cursor stays valid.
            for (var c = _keys.Seek(range.Key); c.Valid && range.BeforeEnd(c.Current.Key.Span); c.Next())
            {
                var index = c.Current;
                var live = index.Latest;
                if (live is null)
                {
                    continue;
                }
                if (d.PrevKv)
                {
                    response.PrevKvs.Add(live);
                }
                WriteTombstone(tx, index);
                deleted++;
            }
        }
        response.Deleted = deleted;
        // etcd: the txn's revision if this or an earlier op of the txn changed something, else the old one.
        response.Header = Header(tx.ReadRevision);
        return response;
    }

    /// <summary>Appends a put of <paramref name="key"/> (create or update) to the running txn.</summary>
    private void WriteValue(TxnState tx, KeyIndex? index, ByteString key, ByteString value, long lease)
    {
        bool created = false;
        if (index is null)
        {
            index = _keys.GetOrAdd(key, out created);
            if (created)
            {
                _bytes += KeyOverhead + key.Length;
            }
        }
        var prev = index.Latest;
        long revision = tx.WriteRevision;
        var kv = new KeyValue
        {
            Key = index.Key,
            Value = value,
            CreateRevision = prev?.CreateRevision ?? revision,
            ModRevision = revision,
            Version = (prev?.Version ?? 0) + 1,
            Lease = lease,
        };
        AppendVersion(tx, index, created, kv);
    }

    private void WriteTombstone(TxnState tx, KeyIndex index)
    {
        // etcd's tombstone: the key alone; DELETE events show it with mod_revision = the delete's.
        var kv = new KeyValue { Key = index.Key, ModRevision = tx.WriteRevision };
        AppendVersion(tx, index, false, kv);
    }

    private void AppendVersion(TxnState tx, KeyIndex index, bool created, KeyValue kv)
    {
        var version = new KeyVersion(tx.WriteRevision, tx.Changes, kv);
        index.Append(version);
        _log.Append(version);
        tx.Touched.Add((index, created));
        tx.Changes++;
        _bytes += VersionOverhead + kv.Value.Length;
    }
}
