namespace Cairn.Mvcc;

/// <summary>
/// Every change with revision at or above the compaction point, in revision order: the history
/// watchers replay. Append-only at the tail, trimmed at the head by compaction.
/// </summary>
/// <remarks>
/// Storage is a list of fixed-size chunks so that appending never copies old entries and trimming
/// drops whole chunks (releasing their values to the GC). Entries are addressed by a logical
/// index 0..Count-1; physical position = logical + <see cref="_head"/> (the offset of the first
/// live entry in the first chunk). Finding the first change of a revision is a binary search over
/// the logical indexes, so a replay from any revision costs O(log n + events read).
/// Thread safety: the store's lock guards it.
/// </remarks>
internal sealed class EventLog
{
    internal const int ChunkShift = 10;
    internal const int ChunkSize = 1 << ChunkShift;
    private const int ChunkMask = ChunkSize - 1;

    private readonly List<KeyVersion[]> _chunks = [];
    private int _head;
    private long _count;

    /// <summary>Number of entries.</summary>
    public long Count => _count;

    public KeyVersion this[long index]
    {
        get
        {
            long p = index + _head;
            return _chunks[(int)(p >> ChunkShift)][(int)(p & ChunkMask)];
        }
    }

    public void Append(in KeyVersion version)
    {
        long p = _count + _head;
        int chunk = (int)(p >> ChunkShift);
        if (chunk == _chunks.Count)
        {
            _chunks.Add(new KeyVersion[ChunkSize]);
        }
        _chunks[chunk][(int)(p & ChunkMask)] = version;
        _count++;
    }

    /// <summary>Drops entries from the tail down to <paramref name="count"/> (rollback of a failed write).</summary>
    public void TruncateTo(long count)
    {
        while (_count > count)
        {
            _count--;
            long p = _count + _head;
            _chunks[(int)(p >> ChunkShift)][(int)(p & ChunkMask)] = default;
        }
        int needed = (int)((_count + _head + ChunkMask) >> ChunkShift);
        if (_count == 0)
        {
            needed = _chunks.Count > 0 ? 1 : 0;
        }
        if (_chunks.Count > needed)
        {
            _chunks.RemoveRange(needed, _chunks.Count - needed);
        }
    }

    /// <summary>Logical index of the first entry with main revision ≥ <paramref name="revision"/> (Count if none).</summary>
    public long FirstAtOrAfter(long revision)
    {
        long lo = 0, hi = _count;
        while (lo < hi)
        {
            long mid = (lo + hi) >>> 1;
            if (this[mid].Main < revision)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }
        return lo;
    }

    /// <summary>Removes the first <paramref name="n"/> entries, dropping chunks that empty.</summary>
    public void RemoveFirst(long n)
    {
        if (n <= 0)
        {
            return;
        }
        if (n >= _count)
        {
            _chunks.Clear();
            _head = 0;
            _count = 0;
            return;
        }
        long p = _head + n;
        int dropChunks = (int)(p >> ChunkShift);
        // Clear the dropped entries of the chunk that stays, so their values can be collected.
        int newHead = (int)(p & ChunkMask);
        Array.Clear(_chunks[dropChunks], 0, newHead);
        _chunks.RemoveRange(0, dropChunks);
        _head = newHead;
        _count -= n;
    }

    /// <summary>Overwrites the entry at a logical index (compaction's in-place filtering).</summary>
    public void Set(long index, in KeyVersion version)
    {
        long p = index + _head;
        _chunks[(int)(p >> ChunkShift)][(int)(p & ChunkMask)] = version;
    }
}
