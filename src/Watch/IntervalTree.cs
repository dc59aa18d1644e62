namespace Cairn.Watch;

/// <summary>
/// Intervals [start, end) over byte keys (end null = unbounded) in a treap ordered by (start, seq),
/// each node augmented with the largest end of its subtree, so a stabbing query visits only
/// subtrees that can contain the key: O(log n) expected for the search path plus the matches.
/// </summary>
internal sealed class IntervalTree<T>
{
    /// <summary>A stored interval.</summary>
    internal sealed class Node
    {
        internal Node(byte[] start, byte[]? end, long seq, T value, int priority)
        {
            Start = start;
            End = end;
            MaxEnd = end;
            Seq = seq;
            Value = value;
            Priority = priority;
        }

        internal readonly byte[] Start;
        internal readonly byte[]? End;
        internal readonly long Seq;
        internal readonly T Value;
        internal readonly int Priority;
        internal byte[]? MaxEnd;
        internal Node? Left;
        internal Node? Right;
    }

    private Node? _root;
    private uint _rng;

    internal IntervalTree(uint seed = 0x9E3779B9u) => _rng = seed == 0 ? 1u : seed;

    /// <summary>Number of intervals.</summary>
    internal int Count { get; private set; }

    /// <summary>Adds [start, end) (end null: unbounded); (start, seq) must be unique.</summary>
    internal Node Insert(byte[] start, byte[]? end, long seq, T value)
    {
        // xorshift32: deterministic priorities, no allocation.
        _rng ^= _rng << 13;
        _rng ^= _rng >> 17;
        _rng ^= _rng << 5;
        var n = new Node(start, end, seq, value, (int)(_rng & 0x7fffffff));
        _root = Insert(_root, n);
        Count++;
        return n;
    }

    /// <summary>Removes a node returned by Insert.</summary>
    internal void Remove(Node n)
    {
        _root = Remove(_root, n);
        Count--;
    }

    /// <summary>Appends to <paramref name="into"/> the value of every interval containing <paramref name="key"/>.</summary>
    internal void Stab(ReadOnlySpan<byte> key, List<T> into) => Stab(_root, key, into);

    /// <summary>Appends every value, in key order.</summary>
    internal void CollectAll(List<T> into) => CollectAll(_root, into);

    private static void CollectAll(Node? n, List<T> into)
    {
        while (n is not null)
        {
            CollectAll(n.Left, into);
            into.Add(n.Value);
            n = n.Right;
        }
    }

    private static void Stab(Node? n, ReadOnlySpan<byte> key, List<T> into)
    {
        while (n is not null)
        {
            // Every interval below ends at or before key: nothing here contains it.
            if (n.MaxEnd is not null && key.SequenceCompareTo(n.MaxEnd) >= 0) return;
            Stab(n.Left, key, into);
            if (key.SequenceCompareTo(n.Start) < 0) return; // this node and its right subtree start after key
            if (n.End is null || key.SequenceCompareTo(n.End) < 0) into.Add(n.Value);
            n = n.Right;
        }
    }

    private static int Cmp(Node a, Node b)
    {
        int c = a.Start.AsSpan().SequenceCompareTo(b.Start);
        return c != 0 ? c : a.Seq.CompareTo(b.Seq);
    }

    private static byte[]? MaxOf(byte[]? a, byte[]? b)
    {
        if (a is null || b is null) return null;
        return a.AsSpan().SequenceCompareTo(b) >= 0 ? a : b;
    }

    private static void Update(Node n)
    {
        var m = n.End;
        if (n.Left is not null) m = MaxOf(m, n.Left.MaxEnd);
        if (m is not null && n.Right is not null) m = MaxOf(m, n.Right.MaxEnd);
        n.MaxEnd = m;
    }

    private static Node RotateRight(Node t)
    {
        var l = t.Left!;
        t.Left = l.Right;
        l.Right = t;
        Update(t);
        Update(l);
        return l;
    }

    private static Node RotateLeft(Node t)
    {
        var r = t.Right!;
        t.Right = r.Left;
        r.Left = t;
        Update(t);
        Update(r);
        return r;
    }

    private static Node Insert(Node? t, Node n)
    {
        if (t is null) return n;
        if (Cmp(n, t) < 0)
        {
            t.Left = Insert(t.Left, n);
            if (t.Left.Priority > t.Priority) return RotateRight(t);
        }
        else
        {
            t.Right = Insert(t.Right, n);
            if (t.Right.Priority > t.Priority) return RotateLeft(t);
        }
        Update(t);
        return t;
    }

    private static Node? Remove(Node? t, Node n)
    {
        if (t is null) throw new InvalidOperationException("interval not in tree");
        if (ReferenceEquals(t, n)) return Merge(t.Left, t.Right);
        if (Cmp(n, t) < 0) t.Left = Remove(t.Left, n);
        else t.Right = Remove(t.Right, n);
        Update(t);
        return t;
    }

    private static Node? Merge(Node? a, Node? b)
    {
        if (a is null) return b;
        if (b is null) return a;
        if (a.Priority > b.Priority)
        {
            a.Right = Merge(a.Right, b);
            Update(a);
            return a;
        }
        b.Left = Merge(a, b.Left);
        Update(b);
        return b;
    }
}
