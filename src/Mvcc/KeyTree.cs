using Google.Protobuf;

namespace Cairn.Mvcc;

/// <summary>
/// The ordered map from key bytes to <see cref="KeyIndex"/>: a two-level sorted list (a list of
/// sorted leaves of at most <see cref="LeafCapacity"/> entries), in unsigned byte order as etcd.
/// </summary>
/// <remarks>
/// Why not SortedDictionary: lookups here take a <see cref="ReadOnlySpan{T}"/> (no probe object
/// per lookup), and a seek followed by a scan — the shape of every prefix Range — is a binary
/// search over the leaves' first keys, one inside a leaf, then a walk over contiguous arrays:
/// O(log n + k) and cache-friendly. Inserting costs a shift inside one leaf (≤ 512 references)
/// and, on a split, a shift of the leaf list (n / 256 references — 4 000 for a million keys).
/// Invariant: every leaf is non-empty, except the single leaf of an empty tree.
/// Thread safety: none; the store's lock guards it.
/// </remarks>
internal sealed class KeyTree
{
    internal const int LeafCapacity = 512;

    private readonly List<Leaf> _leaves = [new Leaf()];
    private int _count;

    private sealed class Leaf
    {
        public readonly KeyIndex[] Items = new KeyIndex[LeafCapacity];
        public int Count;

        public ReadOnlySpan<byte> FirstKey => Items[0].Key.Span;
    }

    /// <summary>Number of keys.</summary>
    public int Count => _count;

    /// <summary>The entry for <paramref name="key"/>, or null.</summary>
    public KeyIndex? Get(ReadOnlySpan<byte> key)
    {
        if (_count == 0)
        {
            return null;
        }
        var leaf = _leaves[FindLeaf(key)];
        int pos = LowerBound(leaf, key, out bool exact);
        return exact ? leaf.Items[pos] : null;
    }

    /// <summary>The entry for <paramref name="key"/>, created (empty) if missing.</summary>
    public KeyIndex GetOrAdd(ByteString key, out bool added)
    {
        var span = key.Span;
        int leafIndex = _count == 0 ? 0 : FindLeaf(span);
        var leaf = _leaves[leafIndex];
        int pos = LowerBound(leaf, span, out bool exact);
        if (exact)
        {
            added = false;
            return leaf.Items[pos];
        }
        var created = new KeyIndex(key);
        Insert(leafIndex, pos, created);
        added = true;
        return created;
    }

    /// <summary>Removes <paramref name="key"/>; false if absent.</summary>
    public bool Remove(ReadOnlySpan<byte> key)
    {
        if (_count == 0)
        {
            return false;
        }
        int leafIndex = FindLeaf(key);
        var leaf = _leaves[leafIndex];
        int pos = LowerBound(leaf, key, out bool exact);
        if (!exact)
        {
            return false;
        }
        Array.Copy(leaf.Items, pos + 1, leaf.Items, pos, leaf.Count - pos - 1);
        leaf.Count--;
        leaf.Items[leaf.Count] = null!;
        _count--;
        if (leaf.Count == 0 && _leaves.Count > 1)
        {
            _leaves.RemoveAt(leafIndex);
        }
        return true;
    }

    /// <summary>
    /// Calls <paramref name="visit"/> for every entry in key order and removes those for which it
    /// returns true, in one O(n) pass (compaction).
    /// </summary>
    public void RemoveWhere(Func<KeyIndex, bool> visit)
    {
        int writeLeaf = 0;
        for (int li = 0; li < _leaves.Count; li++)
        {
            var leaf = _leaves[li];
            int w = 0;
            for (int i = 0; i < leaf.Count; i++)
            {
                var item = leaf.Items[i];
                if (!visit(item))
                {
                    leaf.Items[w++] = item;
                }
            }
            Array.Clear(leaf.Items, w, leaf.Count - w);
            _count -= leaf.Count - w;
            leaf.Count = w;
            if (w > 0)
            {
                _leaves[writeLeaf++] = leaf;
            }
        }
        if (writeLeaf == 0)
        {
            _leaves[0] = new Leaf();
            writeLeaf = 1;
        }
        _leaves.RemoveRange(writeLeaf, _leaves.Count - writeLeaf);
    }

    /// <summary>Appends an entry greater than every key present (bulk load from a snapshot).</summary>
    public void AppendSorted(KeyIndex entry)
    {
        var leaf = _leaves[^1];
        if (leaf.Count == LeafCapacity)
        {
            leaf = new Leaf();
            _leaves.Add(leaf);
        }
        leaf.Items[leaf.Count++] = entry;
        _count++;
    }

    /// <summary>A cursor at the first key ≥ <paramref name="key"/>.</summary>
    public Cursor Seek(ReadOnlySpan<byte> key)
    {
        if (_count == 0)
        {
            return new Cursor(this, _leaves.Count, 0);
        }
        int leafIndex = FindLeaf(key);
        int pos = LowerBound(_leaves[leafIndex], key, out _);
        return new Cursor(this, leafIndex, pos);
    }

    /// <summary>A cursor at the first key.</summary>
    public Cursor First() => _count == 0 ? new Cursor(this, _leaves.Count, 0) : new Cursor(this, 0, 0);

    /// <summary>
    /// Forward iterator: <see cref="Current"/> is valid while <see cref="Valid"/>. Invalidated by
    /// any change to the tree.
    /// </summary>
    public struct Cursor
    {
        private readonly List<Leaf> _leaves;
        private Leaf? _current;
        private int _leaf;
        private int _pos;

        internal Cursor(KeyTree tree, int leaf, int pos)
        {
            _leaves = tree._leaves;
            _current = null;
            _leaf = leaf;
            _pos = pos;
            Normalize();
        }

        public readonly bool Valid => _current is not null;

        public readonly KeyIndex Current => _current!.Items[_pos];

        public void Next()
        {
            // Stay inside the cached leaf on the common path.
            if (++_pos < _current!.Count)
            {
                return;
            }
            Normalize();
        }

        private void Normalize()
        {
            while (_leaf < _leaves.Count && _pos >= _leaves[_leaf].Count)
            {
                _leaf++;
                _pos = 0;
            }
            _current = _leaf < _leaves.Count ? _leaves[_leaf] : null;
        }
    }

    private void Insert(int leafIndex, int pos, KeyIndex entry)
    {
        var leaf = _leaves[leafIndex];
        if (leaf.Count == LeafCapacity)
        {
            // Split in halves; appends at the end (sequential keys) split unevenly so that leaves
            // filled in order end up full rather than half empty.
            var right = new Leaf();
            int keep = pos == LeafCapacity && leafIndex == _leaves.Count - 1 ? LeafCapacity : LeafCapacity / 2;
            int move = LeafCapacity - keep;
            Array.Copy(leaf.Items, keep, right.Items, 0, move);
            Array.Clear(leaf.Items, keep, move);
            leaf.Count = keep;
            right.Count = move;
            _leaves.Insert(leafIndex + 1, right);
            if (pos >= keep)
            {
                leaf = right;
                pos -= keep;
            }
        }
        Array.Copy(leaf.Items, pos, leaf.Items, pos + 1, leaf.Count - pos);
        leaf.Items[pos] = entry;
        leaf.Count++;
        _count++;
    }

    /// <summary>The last leaf whose first key ≤ key (0 if none). Requires a non-empty tree.</summary>
    private int FindLeaf(ReadOnlySpan<byte> key)
    {
        int lo = 0, hi = _leaves.Count - 1;
        while (lo < hi)
        {
            int mid = (lo + hi + 1) >>> 1;
            if (_leaves[mid].FirstKey.SequenceCompareTo(key) <= 0)
            {
                lo = mid;
            }
            else
            {
                hi = mid - 1;
            }
        }
        return lo;
    }

    /// <summary>First position in the leaf whose key ≥ key.</summary>
    private static int LowerBound(Leaf leaf, ReadOnlySpan<byte> key, out bool exact)
    {
        int lo = 0, hi = leaf.Count;
        var items = leaf.Items;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            int c = items[mid].Key.Span.SequenceCompareTo(key);
            if (c < 0)
            {
                lo = mid + 1;
            }
            else if (c > 0)
            {
                hi = mid;
            }
            else
            {
                exact = true;
                return mid;
            }
        }
        exact = false;
        return lo;
    }
}
