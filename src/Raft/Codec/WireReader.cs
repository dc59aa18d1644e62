namespace Cairn.Raft;

/// <summary>
/// Reads what <see cref="WireWriter"/> wrote, validating as it goes: every malformed input ends in a
/// <see cref="MessageFormatException"/>, never an out-of-range access or a huge allocation.
/// Byte fields are returned as slices of <see cref="_owner"/>, a private copy of the input.
/// </summary>
internal ref struct WireReader(ReadOnlyMemory<byte> owner)
{
    private readonly ReadOnlyMemory<byte> _owner = owner;
    private int _pos;

    public readonly int Remaining => _owner.Length - _pos;

    public byte Byte()
    {
        if (_pos >= _owner.Length) throw new MessageFormatException("truncated");
        return _owner.Span[_pos++];
    }

    public ulong Varint()
    {
        ulong result = 0;
        var span = _owner.Span;
        for (var shift = 0; shift < 64; shift += 7)
        {
            if (_pos >= span.Length) throw new MessageFormatException("truncated varint");
            var b = span[_pos++];
            if (shift == 63 && b > 1) throw new MessageFormatException("varint overflows 64 bits");
            result |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                // Overlong encodings (a trailing zero group) would give one value two encodings.
                if (b == 0 && shift > 0) throw new MessageFormatException("non-canonical varint");
                return result;
            }
        }
        throw new MessageFormatException("varint too long");
    }

    /// <summary>A count that must be plausible: each counted item needs at least <paramref name="minItemBytes"/> more bytes.</summary>
    public int Count(int minItemBytes)
    {
        var n = Varint();
        if (n > (ulong)Remaining / (ulong)Math.Max(1, minItemBytes)) throw new MessageFormatException($"count {n} exceeds the remaining input");
        return (int)n;
    }

    public ReadOnlyMemory<byte> Bytes()
    {
        var n = Varint();
        if (n > (ulong)Remaining) throw new MessageFormatException($"length {n} exceeds the remaining input");
        var slice = _owner.Slice(_pos, (int)n);
        _pos += (int)n;
        return slice;
    }

    public bool Bool()
    {
        var b = Byte();
        if (b > 1) throw new MessageFormatException("invalid boolean");
        return b == 1;
    }
}
