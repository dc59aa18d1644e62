using System.Buffers;
using System.Buffers.Binary;
using Cairn.Protocol;
using Google.Protobuf;
using Mvccpb;

namespace Cairn.Mvcc;

public sealed partial class KvStore
{
    /// <summary>Hash of all key versions with revision ≤ <paramref name="revision"/> (0: current) above the compaction (HashKV).</summary>
    /// <remarks>
    /// Computes etcd 3.4's own HashKV (mvcc store.HashByRev) over the same bytes etcd's bolt "key"
    /// bucket holds, so the value can be compared with a real etcd that applied the same requests:
    /// CRC-32C of "key", then for every version in revision order with main ≤ revision, its bolt
    /// key (8-byte big-endian main, '_', 8-byte big-endian sub, plus 't' for a tombstone) and its
    /// marshalled KeyValue (a tombstone's holds only the key). Versions at or below the compaction
    /// revision count only if still the key's live version at <paramref name="revision"/> — unless
    /// no key is live then, in which case they all count (etcd's `len(keep) > 0` condition).
    /// Errors as etcd: 0 &lt; revision ≤ compaction → compacted; revision &gt; current → future.
    /// <paramref name="compactRevision"/> is etcd's compactMainRev (-1 before the first compaction);
    /// <paramref name="hashRevision"/> is the revision hashed.
    /// </remarks>
    public uint HashKV(long revision, out long compactRevision, out long hashRevision)
    {
        _lock.EnterReadLock();
        try
        {
            long current = _revision, compact = _compactRevision;
            if (revision > 0 && revision <= compact)
            {
                throw EtcdErrors.Compacted();
            }
            if (revision > current)
            {
                throw EtcdErrors.FutureRev();
            }
            long rev = revision == 0 ? current : revision;
            compactRevision = compact;
            hashRevision = rev;

            uint state = Crc32C.Append(Crc32C.Initial, "key"u8);
            byte[] buffer = ArrayPool<byte>.Shared.Rent(256);
            try
            {
                // Versions at or below the compaction revision: only in the index, at most one per key.
                if (compact > 0)
                {
                    var old = new List<(KeyVersion Version, KeyIndex Index)>();
                    for (var c = _keys.First(); c.Valid; c.Next())
                    {
                        var index = c.Current;
                        for (int i = 0; i < index.Count && index[i].Main <= compact; i++)
                        {
                            old.Add((index[i], index));
                        }
                    }
                    old.Sort(static (a, b) => a.Version.Main != b.Version.Main ? a.Version.Main.CompareTo(b.Version.Main) : a.Version.Sub.CompareTo(b.Version.Sub));
                    bool keepEmpty = !AnyLiveAt(rev);
                    foreach (var (v, index) in old)
                    {
                        if (v.Main <= rev && (keepEmpty || ReferenceEquals(index.ValueAt(rev), v.Kv)))
                        {
                            state = HashVersion(state, v, ref buffer);
                        }
                    }
                }
                for (long i = _log.FirstAtOrAfter(Math.Max(compact, 0) + 1); i < _log.Count; i++)
                {
                    var v = _log[i];
                    if (v.Main > rev)
                    {
                        break;
                    }
                    state = HashVersion(state, v, ref buffer);
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
            return Crc32C.Finish(state);
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    private bool AnyLiveAt(long rev)
    {
        for (var c = _keys.First(); c.Valid; c.Next())
        {
            if (c.Current.ValueAt(rev) is not null)
            {
                return true;
            }
        }
        return false;
    }

    private static uint HashVersion(uint state, in KeyVersion v, ref byte[] buffer)
    {
        Span<byte> revBytes = stackalloc byte[18];
        BinaryPrimitives.WriteInt64BigEndian(revBytes, v.Main);
        revBytes[8] = (byte)'_';
        BinaryPrimitives.WriteInt64BigEndian(revBytes[9..], v.Sub);
        revBytes[17] = (byte)'t';
        state = Crc32C.Append(state, v.IsTombstone ? revBytes : revBytes[..17]);
        var kv = v.IsTombstone ? new KeyValue { Key = v.Kv.Key } : v.Kv;
        int size = kv.CalculateSize();
        if (buffer.Length < size)
        {
            ArrayPool<byte>.Shared.Return(buffer);
            buffer = ArrayPool<byte>.Shared.Rent(size);
        }
        kv.WriteTo(buffer.AsSpan(0, size));
        return Crc32C.Append(state, buffer.AsSpan(0, size));
    }
}
