using Google.Protobuf;

namespace Cairn.Mvcc;

/// <summary>
/// The key set named by etcd's (key, range_end) pair: empty range_end = the key alone; range_end
/// "\0" = every key ≥ key; otherwise [key, range_end). An end ≤ key names nothing.
/// </summary>
internal readonly ref struct KeyRange
{
    public KeyRange(ByteString key, ByteString rangeEnd)
    {
        Key = key.Span;
        End = rangeEnd.Span;
        IsSingle = End.Length == 0;
        IsUnbounded = End.Length == 1 && End[0] == 0;
    }

    public readonly ReadOnlySpan<byte> Key;
    public readonly ReadOnlySpan<byte> End;
    public readonly bool IsSingle;
    public readonly bool IsUnbounded;

    /// <summary>For a cursor walking upwards from <see cref="Key"/>: is this key still inside?</summary>
    public bool BeforeEnd(ReadOnlySpan<byte> key) => IsUnbounded || key.SequenceCompareTo(End) < 0;
}
