namespace Cairn.Raft;

/// <summary>
/// Entries (and possibly an incoming snapshot) the core has accepted but the application has not yet
/// persisted. Entry i lives at <c>_entries[i - Offset]</c>; everything before <see cref="Offset"/> is in storage
/// (or in <see cref="Snapshot"/>). The application persists these when it handles a Ready; Advance then
/// trims them with <see cref="StableTo"/> / <see cref="StableSnapTo"/>.
/// </summary>
internal sealed class UnstableLog
{
    private readonly List<Entry> _entries = [];

    public UnstableLog(ulong offset) => Offset = offset;

    public ulong Offset { get; private set; }
    public Snapshot? Snapshot { get; private set; }
    public int Count => _entries.Count;

    public bool TryFirstIndex(out ulong index)
    {
        index = Snapshot is null ? 0 : Snapshot.Metadata.Index + 1;
        return Snapshot is not null;
    }

    public bool TryLastIndex(out ulong index)
    {
        if (_entries.Count > 0) { index = Offset + (ulong)_entries.Count - 1; return true; }
        if (Snapshot is not null) { index = Snapshot.Metadata.Index; return true; }
        index = 0;
        return false;
    }

    public bool TryTerm(ulong index, out ulong term)
    {
        term = 0;
        if (index < Offset)
        {
            if (Snapshot is not null && Snapshot.Metadata.Index == index) { term = Snapshot.Metadata.Term; return true; }
            return false;
        }
        if (!TryLastIndex(out var last) || index > last) return false;
        if (index - Offset >= (ulong)_entries.Count)
        {
            // Only the snapshot, and index == its index (handled above since Offset = snap + 1).
            return false;
        }
        term = _entries[(int)(index - Offset)].Term;
        return true;
    }

    /// <summary>Entries up to (index, term) are now durable. A term mismatch means they were since replaced: keep them.</summary>
    public void StableTo(ulong index, ulong term)
    {
        if (!TryTerm(index, out var t) || t != term || index < Offset) return;
        _entries.RemoveRange(0, (int)(index + 1 - Offset));
        Offset = index + 1;
    }

    public void StableSnapTo(ulong index)
    {
        if (Snapshot is not null && Snapshot.Metadata.Index == index) Snapshot = null;
    }

    public void Restore(Snapshot snapshot)
    {
        Offset = snapshot.Metadata.Index + 1;
        _entries.Clear();
        Snapshot = snapshot;
    }

    public void TruncateAndAppend(ReadOnlySpan<Entry> entries)
    {
        var after = entries[0].Index;
        if (after == Offset + (ulong)_entries.Count)
        {
            // Plain append after what we hold.
        }
        else if (after <= Offset)
        {
            // Replaces everything unstable, and a suffix of what storage holds (storage truncates when it
            // receives these entries in the next Ready).
            Offset = after;
            _entries.Clear();
        }
        else
        {
            _entries.RemoveRange((int)(after - Offset), _entries.Count - (int)(after - Offset));
        }
        foreach (var e in entries) _entries.Add(e);
    }

    public Entry[] ToArray() => _entries.Count == 0 ? [] : _entries.ToArray();

    public Entry[] Slice(ulong low, ulong high)
    {
        if (low < Offset || high > Offset + (ulong)_entries.Count || low > high)
            throw new InvalidOperationException($"unstable slice [{low},{high}) out of [{Offset},{Offset + (ulong)_entries.Count})");
        return System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_entries).Slice((int)(low - Offset), (int)(high - low)).ToArray();
    }
}
