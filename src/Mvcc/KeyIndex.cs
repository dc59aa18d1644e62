using Google.Protobuf;
using Mvccpb;

namespace Cairn.Mvcc;

/// <summary>
/// Every retained version of one key, oldest first, in revision order.
/// </summary>
/// <remarks>
/// As in etcd's key_index.go, a key's life is a sequence of generations: a generation starts with
/// the put that creates the key (version 1, create_revision = that revision), continues with every
/// later put (version + 1 each), and ends with a tombstone (the delete). The next put starts a new
/// generation. Here the generations are implicit: the versions are one flat array and every
/// tombstone closes the generation before it — this keeps the common case (one or two versions per
/// key) at a single small array.
///
/// Worked example (revisions are main.sub):
/// <code>
///   put(k) @2.0, put(k) @3.0, delete(k) @4.0, put(k) @6.0, put(k) @7.0
///   versions:    [2.0 v1] [3.0 v2] [4.0 tomb] [6.0 v1] [7.0 v2]
///   generations: {2.0, 3.0, 4.0(t)}  {6.0, 7.0}  (open)
///   read @1 → absent (before creation)     read @3 → v2 (mod 3, create 2)
///   read @4 → absent (tombstone)           read @5 → absent
///   read @6 → v1 (create 6)                read @9 → v2 (mod 7, create 6)
///
///   compact(3): the latest version at or before 3 is 3.0, a put: keep it, drop 2.0
///       → [3.0 v2] [4.0 t] [6.0 v1] [7.0 v2]
///   compact(5): the latest at or before 5 is the tombstone 4.0: the whole first generation is
///       history nobody can read any more, drop it with the tombstone
///       → [6.0 v1] [7.0 v2]
///   compact(7): keep 7.0 only → [7.0 v2]; had 7.0 been a tombstone the key would be empty and
///       would leave the index altogether.
/// </code>
/// One transaction may touch a key twice (etcd allows a delete over a range ending in "\0" plus
/// a put of a key in it, see <see cref="RequestValidation"/>); both changes have the same main
/// revision and increasing sub, and a read at that revision sees the last one.
///
/// Thread safety: mutated only by the writer holding the store's write lock; read under its read lock.
/// </remarks>
internal sealed class KeyIndex
{
    private KeyVersion[] _versions;
    private int _count;

    public KeyIndex(ByteString key, int capacity = 2)
    {
        Key = key;
        _versions = new KeyVersion[Math.Max(1, capacity)];
    }

    /// <summary>The key; every version's KeyValue.Key is this same instance.</summary>
    public ByteString Key { get; }

    /// <summary>Number of retained versions (including tombstones).</summary>
    public int Count => _count;

    public KeyVersion this[int index] => _versions[index];

    public KeyVersion Last => _versions[_count - 1];

    /// <summary>Appends a version; its revision must be greater than the last one.</summary>
    public void Append(in KeyVersion version)
    {
        if (_count == _versions.Length)
        {
            Array.Resize(ref _versions, _versions.Length * 2);
        }
        _versions[_count++] = version;
    }

    /// <summary>Undoes the last <see cref="Append"/> (a failed transaction).</summary>
    public void RemoveLast()
    {
        _count--;
        _versions[_count] = default;
    }

    /// <summary>Index of the last version with main revision ≤ <paramref name="revision"/>, or -1.</summary>
    public int IndexAt(long revision)
    {
        // Most reads are at the current revision: the last version answers them.
        if (_count == 0)
        {
            return -1;
        }
        if (_versions[_count - 1].Main <= revision)
        {
            return _count - 1;
        }
        int lo = 0, hi = _count - 2, found = -1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            if (_versions[mid].Main <= revision)
            {
                found = mid;
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }
        return found;
    }

    /// <summary>The live value at <paramref name="revision"/>, or null if absent or deleted then.</summary>
    public KeyValue? ValueAt(long revision)
    {
        int i = IndexAt(revision);
        if (i < 0)
        {
            return null;
        }
        var kv = _versions[i].Kv;
        return kv.CreateRevision == 0 ? null : kv;
    }

    /// <summary>The latest value (including changes of the running transaction), or null.</summary>
    public KeyValue? Latest
    {
        get
        {
            if (_count == 0)
            {
                return null;
            }
            var kv = _versions[_count - 1].Kv;
            return kv.CreateRevision == 0 ? null : kv;
        }
    }

    /// <summary>
    /// Drops every version a read at or after <paramref name="revision"/> can no longer see: all
    /// versions before the latest one at or before the revision, and that one too if it is a
    /// tombstone. Returns the dropped versions' value bytes (for accounting) and how many were
    /// dropped; the index is empty afterwards if the key is gone at the revision.
    /// </summary>
    public int Compact(long revision, out long droppedValueBytes)
    {
        droppedValueBytes = 0;
        int i = IndexAt(revision);
        if (i < 0)
        {
            return 0;
        }
        int drop = _versions[i].IsTombstone ? i + 1 : i;
        if (drop == 0)
        {
            return 0;
        }
        for (int j = 0; j < drop; j++)
        {
            droppedValueBytes += _versions[j].Kv.Value.Length;
        }
        int remaining = _count - drop;
        if (remaining > 0 && remaining * 4 < _versions.Length && _versions.Length > 4)
        {
            // Give memory back: a long-lived hot key must not keep its peak history array.
            var smaller = new KeyVersion[Math.Max(2, remaining)];
            Array.Copy(_versions, drop, smaller, 0, remaining);
            _versions = smaller;
        }
        else
        {
            Array.Copy(_versions, drop, _versions, 0, remaining);
            Array.Clear(_versions, remaining, drop);
        }
        _count = remaining;
        return drop;
    }

    /// <summary>The generations as lists of versions (tests and diagnostics).</summary>
    internal List<List<KeyVersion>> Generations()
    {
        var result = new List<List<KeyVersion>>();
        var current = new List<KeyVersion>();
        for (int i = 0; i < _count; i++)
        {
            current.Add(_versions[i]);
            if (_versions[i].IsTombstone)
            {
                result.Add(current);
                current = new List<KeyVersion>();
            }
        }
        if (current.Count > 0)
        {
            result.Add(current);
        }
        return result;
    }
}
