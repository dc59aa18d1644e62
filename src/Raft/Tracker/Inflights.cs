namespace Cairn.Raft;

/// <summary>
/// The append messages sent to one follower in replicate state and not yet acknowledged, as a ring buffer
/// of (last index, bytes). It bounds pipelining: the leader stops sending once <see cref="Full"/> (too many
/// messages, or too many bytes), and an acknowledgement of index i frees every message ending at or before i.
/// </summary>
internal sealed class Inflights
{
    private readonly ulong[] _index;
    private readonly ulong[] _bytes;
    private int _start;

    public Inflights(int capacity, ulong maxBytes)
    {
        if (capacity < 1) throw new ArgumentOutOfRangeException(nameof(capacity));
        _index = new ulong[capacity];
        _bytes = new ulong[capacity];
        MaxBytes = maxBytes;
    }

    public int Capacity => _index.Length;
    public ulong MaxBytes { get; }
    public int Count { get; private set; }
    public ulong Bytes { get; private set; }

    /// <summary>No room for another message: count at capacity, or (with a byte limit) bytes at or over it.</summary>
    public bool Full => Count == Capacity || (MaxBytes != 0 && Bytes >= MaxBytes);

    public void Add(ulong lastIndex, ulong bytes)
    {
        if (Count == Capacity) throw new InvalidOperationException("inflights are full");
        if (Count > 0 && lastIndex <= _index[(_start + Count - 1) % Capacity])
            throw new InvalidOperationException($"inflight index {lastIndex} is not increasing");
        var slot = (_start + Count) % Capacity;
        _index[slot] = lastIndex;
        _bytes[slot] = bytes;
        Count++;
        Bytes += bytes;
    }

    /// <summary>Frees every message whose last index is ≤ <paramref name="index"/>.</summary>
    public void FreeLE(ulong index)
    {
        while (Count > 0 && _index[_start] <= index)
        {
            Bytes -= _bytes[_start];
            _start = (_start + 1) % Capacity;
            Count--;
        }
        if (Count == 0) _start = 0;
    }

    public void Reset()
    {
        Count = 0;
        Bytes = 0;
        _start = 0;
    }
}
