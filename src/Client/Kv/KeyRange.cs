using System.Text;
using Google.Protobuf;

namespace Cairn.Client;

/// <summary>
/// A key or key range as etcd encodes it: <see cref="Key"/> and <see cref="RangeEnd"/> (exclusive).
/// An empty RangeEnd is the single key; RangeEnd "\0" means every key ≥ Key. Strings are UTF-8.
/// A string converts implicitly to the single-key range.
/// </summary>
public readonly record struct KeyRange
{
    private static readonly ByteString ZeroByte = ByteString.CopyFrom(0);

    /// <summary>Creates a range from raw bytes.</summary>
    public KeyRange(ByteString key, ByteString rangeEnd)
    {
        Key = key ?? ByteString.Empty;
        RangeEnd = rangeEnd ?? ByteString.Empty;
    }

    /// <summary>The first key.</summary>
    public ByteString Key { get; }

    /// <summary>The end of the range (exclusive); empty for a single key.</summary>
    public ByteString RangeEnd { get; }

    /// <summary>One key.</summary>
    public static KeyRange Single(string key) => new(ByteString.CopyFromUtf8(key), ByteString.Empty);

    /// <summary>One key.</summary>
    public static KeyRange Single(ByteString key) => new(key, ByteString.Empty);

    /// <summary>Every key starting with <paramref name="prefix"/> (the empty prefix: every key).</summary>
    public static KeyRange Prefix(string prefix) => Prefix(ByteString.CopyFromUtf8(prefix));

    /// <summary>Every key starting with <paramref name="prefix"/> (the empty prefix: every key).</summary>
    public static KeyRange Prefix(ByteString prefix)
    {
        if (prefix.Length == 0)
        {
            return All;
        }
        return new(prefix, PrefixEnd(prefix.Span));
    }

    /// <summary>Every key ≥ <paramref name="key"/>.</summary>
    public static KeyRange FromKey(string key) => FromKey(ByteString.CopyFromUtf8(key));

    /// <summary>Every key ≥ <paramref name="key"/>.</summary>
    public static KeyRange FromKey(ByteString key) => new(key.Length == 0 ? ZeroByte : key, ZeroByte);

    /// <summary>Keys in [<paramref name="start"/>, <paramref name="end"/>).</summary>
    public static KeyRange Between(string start, string end) => new(ByteString.CopyFromUtf8(start), ByteString.CopyFromUtf8(end));

    /// <summary>Keys in [<paramref name="start"/>, <paramref name="end"/>).</summary>
    public static KeyRange Between(ByteString start, ByteString end) => new(start, end);

    /// <summary>Every key.</summary>
    public static KeyRange All => new(ZeroByte, ZeroByte);

    /// <summary>The single-key range of a UTF-8 string.</summary>
    public static implicit operator KeyRange(string key) => Single(key);

    /// <summary>
    /// The smallest key greater than every key with the prefix: the last byte below 0xff is
    /// incremented and what follows it dropped; a prefix of only 0xff bytes has none ("\0": no end).
    /// </summary>
    internal static ByteString PrefixEnd(ReadOnlySpan<byte> prefix)
    {
        for (var i = prefix.Length - 1; i >= 0; i--)
        {
            if (prefix[i] < 0xff)
            {
                var end = prefix[..(i + 1)].ToArray();
                end[i]++;
                return ByteString.CopyFrom(end);
            }
        }
        return ZeroByte;
    }

    /// <inheritdoc />
    public override string ToString() => RangeEnd.Length == 0
        ? Show(Key)
        : $"[{Show(Key)}, {(RangeEnd.Length == 1 && RangeEnd[0] == 0 ? "∞" : Show(RangeEnd))})";

    private static string Show(ByteString bytes) => Encoding.UTF8.GetString(bytes.Span);
}
