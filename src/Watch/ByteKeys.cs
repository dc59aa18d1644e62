namespace Cairn.Watch;

/// <summary>Byte-string helpers: etcd orders keys as unsigned bytes (memcmp).</summary>
internal static class ByteKeys
{
    /// <summary>Lexicographic unsigned comparison.</summary>
    internal static int Compare(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b) => a.SequenceCompareTo(b);

    /// <summary>
    /// True when <paramref name="key"/> lies in the watch range [start, end); <paramref name="end"/> null
    /// means the single key <paramref name="start"/>, an empty end means "every key &gt;= start".
    /// </summary>
    internal static bool InRange(ReadOnlySpan<byte> key, byte[] start, byte[]? end)
    {
        if (end is null) return key.SequenceEqual(start);
        if (key.SequenceCompareTo(start) < 0) return false;
        return end.Length == 0 || key.SequenceCompareTo(end) < 0;
    }
}

/// <summary>Equality of byte-array keys, with span lookups so notify does not allocate.</summary>
internal sealed class ByteArrayComparer : IEqualityComparer<byte[]>, IAlternateEqualityComparer<ReadOnlySpan<byte>, byte[]>
{
    /// <summary>The shared instance.</summary>
    internal static readonly ByteArrayComparer Instance = new();

    public bool Equals(byte[]? x, byte[]? y) =>
        ReferenceEquals(x, y) || (x is not null && y is not null && x.AsSpan().SequenceEqual(y));

    public int GetHashCode(byte[] obj) => GetHashCode((ReadOnlySpan<byte>)obj);

    public bool Equals(ReadOnlySpan<byte> alternate, byte[] other) => alternate.SequenceEqual(other);

    public int GetHashCode(ReadOnlySpan<byte> alternate)
    {
        var h = new HashCode();
        h.AddBytes(alternate);
        return h.ToHashCode();
    }

    public byte[] Create(ReadOnlySpan<byte> alternate) => alternate.ToArray();
}
