using Google.Protobuf;
using Mvccpb;

namespace Cairn.Mvcc;

public sealed partial class KvStore
{
    /// <summary>Writes the whole state (every retained version, revision, compact revision) to <paramref name="output"/>.</summary>
    /// <remarks>
    /// Format: see <see cref="SnapshotFormat"/> (versioned, CRC-32C-checked, deterministic). Runs
    /// under the read lock, so it is a consistent revision; writes wait until it is done.
    /// </remarks>
    public void WriteSnapshot(Stream output)
    {
        ArgumentNullException.ThrowIfNull(output);
        _lock.EnterReadLock();
        try
        {
            var w = new SnapshotFormat.Writer(output);
            w.Bytes(SnapshotFormat.Magic);
            w.U32(SnapshotFormat.Version);
            w.I64(_revision);
            w.I64(_compactRevision);
            w.I64(_keys.Count);
            for (var c = _keys.First(); c.Valid; c.Next())
            {
                var index = c.Current;
                w.Blob(index.Key.Span);
                w.VarUInt((ulong)index.Count);
                for (int i = 0; i < index.Count; i++)
                {
                    var v = index[i];
                    w.I64(v.Main);
                    w.I32(v.Sub);
                    if (v.IsTombstone)
                    {
                        w.U8(SnapshotFormat.Tombstone);
                        continue;
                    }
                    w.U8(SnapshotFormat.Put);
                    w.I64(v.Kv.CreateRevision);
                    w.I64(v.Kv.Version);
                    w.I64(v.Kv.Lease);
                    w.Blob(v.Kv.Value.Span);
                }
            }
            w.Finish();
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    /// <summary>Rebuilds a store from <see cref="WriteSnapshot"/>'s bytes; its own snapshot is byte-identical.</summary>
    /// <exception cref="InvalidDataException">Not a snapshot, an unknown version, or corrupt (checksum).</exception>
    public static KvStore ReadSnapshot(Stream input, MvccOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(input);
        var r = new SnapshotFormat.Reader(input);
        Span<byte> magic = stackalloc byte[8];
        r.Bytes(magic);
        if (!magic.SequenceEqual(SnapshotFormat.Magic))
        {
            throw new InvalidDataException("Not a Cairn MVCC snapshot.");
        }
        uint version = r.U32();
        if (version != SnapshotFormat.Version)
        {
            throw new InvalidDataException($"Unsupported MVCC snapshot version {version}.");
        }
        var store = new KvStore(options);
        store._revision = r.I64();
        store._compactRevision = r.I64();
        long keyCount = r.I64();
        if (store._revision < 1 || store._compactRevision < -1 || store._compactRevision > store._revision || keyCount < 0)
        {
            throw new InvalidDataException("Corrupt snapshot: header out of range.");
        }
        var logged = new List<KeyVersion>();
        long bytes = 0;
        KeyIndex? previous = null;
        for (long k = 0; k < keyCount; k++)
        {
            var key = UnsafeByteOperations.UnsafeWrap(r.Blob());
            if (key.IsEmpty || (previous is not null && previous.Key.Span.SequenceCompareTo(key.Span) >= 0))
            {
                throw new InvalidDataException("Corrupt snapshot: keys out of order.");
            }
            int count = checked((int)r.VarUInt());
            if (count == 0)
            {
                throw new InvalidDataException("Corrupt snapshot: key without versions.");
            }
            var index = new KeyIndex(key, count);
            bytes += KeyOverhead + key.Length;
            for (int i = 0; i < count; i++)
            {
                long main = r.I64();
                int sub = r.I32();
                byte kind = r.U8();
                KeyValue kv;
                if (kind == SnapshotFormat.Tombstone)
                {
                    kv = new KeyValue { Key = key, ModRevision = main };
                }
                else if (kind == SnapshotFormat.Put)
                {
                    kv = new KeyValue
                    {
                        Key = key,
                        ModRevision = main,
                        CreateRevision = r.I64(),
                        Version = r.I64(),
                        Lease = r.I64(),
                    };
                    kv.Value = UnsafeByteOperations.UnsafeWrap(r.Blob());
                }
                else
                {
                    throw new InvalidDataException("Corrupt snapshot: unknown version kind.");
                }
                if (main > store._revision || (index.Count > 0 && (index.Last.Main > main || (index.Last.Main == main && index.Last.Sub >= sub))))
                {
                    throw new InvalidDataException("Corrupt snapshot: versions out of order.");
                }
                var v = new KeyVersion(main, sub, kv);
                index.Append(v);
                bytes += VersionOverhead + kv.Value.Length;
                if (main >= store._compactRevision)
                {
                    logged.Add(v);
                }
            }
            store._keys.AppendSorted(index);
            previous = index;
        }
        r.VerifyChecksum();

        logged.Sort(static (a, b) => a.Main != b.Main ? a.Main.CompareTo(b.Main) : a.Sub.CompareTo(b.Sub));
        foreach (var v in logged)
        {
            store._log.Append(v);
        }
        store._bytes = bytes;
        store.RebuildLeaseIndex();
        return store;
    }
}
