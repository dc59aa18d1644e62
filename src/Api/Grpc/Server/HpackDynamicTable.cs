namespace Cairn.Grpc;

/// <summary>
/// The HPACK dynamic table (RFC 7541 section 2.3.2, 4): newest entry first, sizes counted as name + value + 32,
/// oldest entries evicted to stay within the maximum size. A ring of at most maxSize / 32 entries, so its memory
/// is bounded by the size the decoder accepts.
/// </summary>
internal sealed class HpackDynamicTable
{
    private readonly HeaderField[] _ring;
    private int _newest = -1;

    /// <summary>Creates an empty table whose size can never exceed <paramref name="sizeLimit"/>.</summary>
    public HpackDynamicTable(int sizeLimit)
    {
        SizeLimit = sizeLimit;
        MaxSize = sizeLimit;
        // Every entry costs at least 32, so this many slots always suffice.
        _ring = new HeaderField[sizeLimit / 32 + 1];
    }

    /// <summary>The largest maximum size a size update may set (the SETTINGS_HEADER_TABLE_SIZE the server announced).</summary>
    public int SizeLimit { get; }

    /// <summary>The current maximum size (changed by dynamic table size updates).</summary>
    public int MaxSize { get; private set; }

    /// <summary>The sum of the entries' sizes.</summary>
    public int Size { get; private set; }

    /// <summary>Number of entries.</summary>
    public int Count { get; private set; }

    /// <summary>The entry at 0-based <paramref name="index"/>, 0 being the newest.</summary>
    public HeaderField Get(int index)
    {
        if ((uint)index >= (uint)Count)
        {
            throw new HpackException($"dynamic table index {index + 1} is beyond its {Count} entries");
        }
        var slot = _newest - index;
        return _ring[slot < 0 ? slot + _ring.Length : slot];
    }

    /// <summary>Adds an entry, evicting old ones first; an entry larger than the maximum size empties the table (4.4).</summary>
    public void Add(HeaderField field)
    {
        var size = field.Size;
        if (size > MaxSize)
        {
            Evict(0);
            return;
        }
        Evict(MaxSize - size);
        _newest = (_newest + 1) % _ring.Length;
        _ring[_newest] = field;
        Count++;
        Size += size;
    }

    /// <summary>Applies a dynamic table size update (6.3); above <see cref="SizeLimit"/> is a decoding error.</summary>
    public void Resize(int maxSize)
    {
        if (maxSize > SizeLimit)
        {
            throw new HpackException($"dynamic table size update to {maxSize} exceeds the limit {SizeLimit}");
        }
        MaxSize = maxSize;
        Evict(maxSize);
    }

    private void Evict(int targetSize)
    {
        while (Size > targetSize)
        {
            var oldest = Get(Count - 1);
            var slot = _newest - (Count - 1);
            _ring[slot < 0 ? slot + _ring.Length : slot] = default;
            Size -= oldest.Size;
            Count--;
        }
    }
}
