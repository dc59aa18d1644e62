namespace Cairn.Grpc;

/// <summary>
/// An HPACK decoder (RFC 7541) for one direction of one HTTP/2 connection: indexed fields, literals with and
/// without indexing, never-indexed literals, dynamic table size updates and Huffman-coded strings. It keeps the
/// connection's dynamic table across blocks, so every header block of the connection must pass through it in
/// order. Any violation, and any block whose fields add up to more than the header list limit, throws
/// <see cref="HpackException"/>; the table may then be out of step with the encoder, so the connection must end.
/// </summary>
internal sealed class HpackDecoder
{
    private readonly HpackDynamicTable _table;
    private readonly int _maxHeaderListSize;

    /// <summary>Creates a decoder with an empty dynamic table.</summary>
    /// <param name="maxDynamicTableSize">The SETTINGS_HEADER_TABLE_SIZE the receiver announced (4096 by default).</param>
    /// <param name="maxHeaderListSize">Largest sum of field sizes (name + value + 32 each) accepted in one block.</param>
    public HpackDecoder(int maxDynamicTableSize, int maxHeaderListSize)
    {
        _table = new HpackDynamicTable(maxDynamicTableSize);
        _maxHeaderListSize = maxHeaderListSize;
    }

    /// <summary>The dynamic table (for tests: its entries and size after a block).</summary>
    public HpackDynamicTable Table => _table;

    /// <summary>Decodes one complete header block, appending its fields in order to <paramref name="fields"/>.</summary>
    public void Decode(ReadOnlySpan<byte> block, List<HeaderField> fields)
    {
        var reader = new Reader(block);
        var listSize = 0;
        var sawField = false;
        while (!reader.AtEnd)
        {
            var first = reader.Peek();
            HeaderField field;
            if ((first & 0x80) != 0)
            {
                // 6.1 Indexed Header Field.
                field = Lookup(reader.ReadInteger(7));
            }
            else if ((first & 0x40) != 0)
            {
                // 6.2.1 Literal Header Field with Incremental Indexing.
                field = ReadLiteral(ref reader, 6, neverIndexed: false);
                _table.Add(field);
            }
            else if ((first & 0x20) != 0)
            {
                // 6.3 Dynamic Table Size Update: only at the start of a block (4.2).
                if (sawField)
                {
                    throw new HpackException("dynamic table size update after a header field");
                }
                _table.Resize(reader.ReadInteger(5));
                continue;
            }
            else
            {
                // 6.2.2 without indexing (0000xxxx) and 6.2.3 never indexed (0001xxxx).
                field = ReadLiteral(ref reader, 4, neverIndexed: (first & 0x10) != 0);
            }
            sawField = true;
            listSize += field.Size;
            if (listSize > _maxHeaderListSize)
            {
                throw new HpackException($"header list larger than {_maxHeaderListSize} bytes");
            }
            fields.Add(field);
        }
    }

    private HeaderField ReadLiteral(ref Reader reader, int prefixBits, bool neverIndexed)
    {
        var nameIndex = reader.ReadInteger(prefixBits);
        var name = nameIndex == 0 ? reader.ReadString() : Lookup(nameIndex).Name;
        var value = reader.ReadString();
        return new HeaderField(name, value, neverIndexed);
    }

    private HeaderField Lookup(int index)
    {
        if (index == 0)
        {
            throw new HpackException("header field index 0");
        }
        return index <= HpackStaticTable.Count ? HpackStaticTable.Get(index) : _table.Get(index - HpackStaticTable.Count - 1);
    }

    /// <summary>Reads the primitives of section 5 from a block, throwing on truncation.</summary>
    private ref struct Reader(ReadOnlySpan<byte> block)
    {
        // Integers beyond this are rejected: no legitimate length or index comes near it.
        private const int MaxContinuationBits = 28;
        private readonly ReadOnlySpan<byte> _block = block;
        private int _position;

        public readonly bool AtEnd => _position >= _block.Length;

        public readonly byte Peek() => _block[_position];

        /// <summary>5.1: an N-bit prefix integer.</summary>
        public int ReadInteger(int prefixBits)
        {
            var mask = (1 << prefixBits) - 1;
            long value = _block[_position++] & mask;
            if (value < mask)
            {
                return (int)value;
            }
            for (var shift = 0; ; shift += 7)
            {
                if (shift > MaxContinuationBits)
                {
                    throw new HpackException("integer too large");
                }
                if (AtEnd)
                {
                    throw new HpackException("header block ends inside an integer");
                }
                var octet = _block[_position++];
                value += (long)(octet & 0x7f) << shift;
                if ((octet & 0x80) == 0)
                {
                    break;
                }
            }
            if (value > int.MaxValue)
            {
                throw new HpackException("integer too large");
            }
            return (int)value;
        }

        /// <summary>5.2: a string literal, Huffman-coded or raw.</summary>
        public byte[] ReadString()
        {
            if (AtEnd)
            {
                throw new HpackException("header block ends before a string");
            }
            var huffman = (Peek() & 0x80) != 0;
            var length = ReadInteger(7);
            if (length > _block.Length - _position)
            {
                throw new HpackException("string literal longer than the rest of the header block");
            }
            var raw = _block.Slice(_position, length);
            _position += length;
            return huffman ? HpackHuffman.Decode(raw) : raw.ToArray();
        }
    }
}
