namespace Cairn.Grpc;

/// <summary>
/// Encodes header fields as HPACK literals that touch no dynamic table (RFC 7541 6.2.2 "without indexing", or
/// 6.2.3 "never indexed" for fields that came that way) with raw (not Huffman) strings. The receiver's dynamic
/// table then stays empty, so a block re-encoded this way can replace the original whatever the original's
/// encoder had indexed.
/// </summary>
internal static class HpackLiteralEncoder
{
    /// <summary>The exact number of bytes <see cref="Encode"/> writes for <paramref name="fields"/>.</summary>
    public static int EncodedLength(List<HeaderField> fields)
    {
        var length = 0;
        foreach (var field in fields)
        {
            length += 1 + StringLength(field.Name.Length) + StringLength(field.Value.Length);
        }
        return length;
    }

    /// <summary>Writes <paramref name="fields"/> into <paramref name="destination"/>; returns the bytes written.</summary>
    public static int Encode(List<HeaderField> fields, Span<byte> destination)
    {
        var position = 0;
        foreach (var field in fields)
        {
            // 0000 0000 or 0001 0000: a literal with a new (literal) name, index 0.
            destination[position++] = field.NeverIndexed ? (byte)0x10 : (byte)0x00;
            position += WriteString(field.Name, destination[position..]);
            position += WriteString(field.Value, destination[position..]);
        }
        return position;
    }

    private static int StringLength(int length) => IntegerLength(length, 7) + length;

    private static int IntegerLength(int value, int prefixBits)
    {
        var mask = (1 << prefixBits) - 1;
        if (value < mask)
        {
            return 1;
        }
        var length = 1;
        for (value -= mask; value >= 0x80; value >>= 7)
        {
            length++;
        }
        return length + 1;
    }

    private static int WriteString(byte[] value, Span<byte> destination)
    {
        // H bit 0 (raw octets), 7-bit prefix length (5.1).
        var position = 0;
        const int mask = 0x7f;
        var length = value.Length;
        if (length < mask)
        {
            destination[position++] = (byte)length;
        }
        else
        {
            destination[position++] = mask;
            for (length -= mask; length >= 0x80; length >>= 7)
            {
                destination[position++] = (byte)((length & 0x7f) | 0x80);
            }
            destination[position++] = (byte)length;
        }
        value.CopyTo(destination[position..]);
        return position + value.Length;
    }
}
