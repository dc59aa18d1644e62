namespace Cairn.Grpc;

/// <summary>
/// Decoding of HPACK's Huffman-coded strings (RFC 7541 section 5.2, code in Appendix B). The code is canonical
/// (codes of one length are consecutive, in symbol order, and each length continues where the shorter ones
/// stopped), so the table below holds only the code lengths of symbols 0..255 and EOS (256), and the codes are
/// rebuilt from them; a unit test checks a few against the RFC's listing.
/// </summary>
internal static class HpackHuffman
{
    /// <summary>The end-of-string symbol, which must never appear in a decoded string.</summary>
    public const int Eos = 256;

    private static readonly byte[] Lengths =
    [
        13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28,
        28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,
        6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6,
        5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10,
        13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
        7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6,
        15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5,
        6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28,
        20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23,
        24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,
        22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23,
        21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,
        26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25,
        19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,
        20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23,
        26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,
        30,
    ];

    /// <summary>Each symbol's code, right-aligned (bit length in <see cref="Lengths"/>).</summary>
    private static readonly uint[] Codes = BuildCodes();

    /// <summary>
    /// The decoding tree: node n's children are at [2n] (bit 0) and [2n + 1] (bit 1); a positive value is a child
    /// node, a negative value -(symbol + 1) a leaf. Node 0 is the root; a complete code of 257 leaves has 256 nodes.
    /// </summary>
    private static readonly int[] Tree = BuildTree();

    /// <summary>The code of <paramref name="symbol"/> (0..256) and its length in bits, as listed in Appendix B.</summary>
    public static (uint Code, int Length) CodeOf(int symbol) => (Codes[symbol], Lengths[symbol]);

    /// <summary>
    /// Decodes <paramref name="encoded"/>. Throws <see cref="HpackException"/> for an EOS symbol in the data, or
    /// padding longer than 7 bits or not made of the EOS code's leading 1 bits (section 5.2).
    /// </summary>
    public static byte[] Decode(ReadOnlySpan<byte> encoded)
    {
        // The shortest code has 5 bits, so n octets decode to at most 8n/5 symbols.
        var output = new byte[(encoded.Length * 8 + 4) / 5];
        var written = 0;
        var node = 0;
        var depth = 0;
        var allOnes = true;
        foreach (var octet in encoded)
        {
            for (var shift = 7; shift >= 0; shift--)
            {
                var bit = (octet >> shift) & 1;
                var next = Tree[2 * node + bit];
                depth++;
                allOnes &= bit == 1;
                if (next < 0)
                {
                    var symbol = -next - 1;
                    if (symbol == Eos)
                    {
                        throw new HpackException("Huffman-coded string contains the EOS symbol");
                    }
                    output[written++] = (byte)symbol;
                    node = 0;
                    depth = 0;
                    allOnes = true;
                }
                else
                {
                    node = next;
                }
            }
        }
        if (depth > 7 || !allOnes)
        {
            throw new HpackException("Huffman-coded string has invalid padding");
        }
        return written == output.Length ? output : output.AsSpan(0, written).ToArray();
    }

    private static uint[] BuildCodes()
    {
        var symbols = Enumerable.Range(0, Lengths.Length).OrderBy(s => Lengths[s]).ThenBy(s => s).ToArray();
        var codes = new uint[Lengths.Length];
        uint code = 0;
        var previousLength = (int)Lengths[symbols[0]];
        for (var i = 0; i < symbols.Length; i++)
        {
            var length = Lengths[symbols[i]];
            if (i > 0)
            {
                code = (code + 1) << (length - previousLength);
            }
            codes[symbols[i]] = code;
            previousLength = length;
        }
        return codes;
    }

    private static int[] BuildTree()
    {
        var tree = new int[2 * (Lengths.Length - 1)];
        var nodes = 1;
        for (var symbol = 0; symbol < Lengths.Length; symbol++)
        {
            var node = 0;
            for (var bitIndex = Lengths[symbol] - 1; bitIndex >= 0; bitIndex--)
            {
                var slot = 2 * node + (int)((Codes[symbol] >> bitIndex) & 1);
                if (bitIndex == 0)
                {
                    tree[slot] = -(symbol + 1);
                }
                else
                {
                    if (tree[slot] == 0)
                    {
                        tree[slot] = nodes++;
                    }
                    node = tree[slot];
                }
            }
        }
        return tree;
    }
}
