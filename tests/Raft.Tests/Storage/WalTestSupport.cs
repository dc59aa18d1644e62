using Cairn.Raft.Storage;

namespace Cairn.Raft.Tests.Storage;

/// <summary>A scratch directory deleted at dispose.</summary>
internal sealed class TempDir : IDisposable
{
    public TempDir()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "cairn-wal-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string Sub(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }

    public static void Copy(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (string f in Directory.GetFiles(from)) File.Copy(f, System.IO.Path.Combine(to, System.IO.Path.GetFileName(f)), overwrite: true);
    }
}

/// <summary>
/// The reference semantics of the WAL, written independently of it: what a replay must return after
/// a given sequence of logical records.
/// </summary>
internal sealed class WalModel
{
    public List<Entry> Entries { get; } = [];
    public HardState HardState { get; private set; }
    public WalSnapshotMarker Snapshot { get; private set; }

    public WalModel Clone()
    {
        var m = new WalModel { HardState = HardState, Snapshot = Snapshot };
        m.Entries.AddRange(Entries);
        return m;
    }

    public void ApplyEntry(Entry e)
    {
        Entries.RemoveAll(x => x.Index >= e.Index);
        Entries.Add(e);
    }

    public void ApplyHardState(HardState hs) => HardState = hs;

    public void ApplyMarker(ulong index, ulong term)
    {
        Snapshot = new WalSnapshotMarker(index, term);
        Entries.RemoveAll(x => x.Index <= index);
    }

    public ulong LastIndex => Entries.Count > 0 ? Entries[^1].Index : Snapshot.Index;

    public void AssertMatches(WalReplay replay)
    {
        Assert.Equal(HardState, replay.HardState);
        Assert.Equal(Snapshot, replay.Snapshot);
        AssertEntries(Entries, replay.Entries);
    }

    public static void AssertEntries(IReadOnlyList<Entry> expected, IReadOnlyList<Entry> actual)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (int i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i].Index, actual[i].Index);
            Assert.Equal(expected[i].Term, actual[i].Term);
            Assert.Equal(expected[i].Type, actual[i].Type);
            Assert.True(expected[i].Data.Span.SequenceEqual(actual[i].Data.Span), $"data of entry {expected[i].Index} differs");
        }
    }
}

/// <summary>One logical record as the test wrote it, and where its frame landed.</summary>
internal sealed record WrittenRecord(string Segment, long Offset, int Size, Action<WalModel> Apply);

/// <summary>Drives a WAL and the model side by side, remembering where every record went.</summary>
internal sealed class WalDriver
{
    private readonly Random _rng;

    public WalDriver(int seed) => _rng = new Random(seed);

    public WalModel Model { get; } = new();
    public List<WrittenRecord> Records { get; } = [];

    public Entry MakeEntry(ulong index, ulong term, int maxData = 64)
    {
        var data = new byte[_rng.Next(0, maxData + 1)];
        _rng.NextBytes(data);
        return new Entry(index, term, index % 7 == 0 ? EntryType.ConfChange : EntryType.Normal, data);
    }

    public Entry[] MakeEntries(ulong first, int count, ulong term, int maxData = 64)
    {
        var list = new Entry[count];
        for (int i = 0; i < count; i++) list[i] = MakeEntry(first + (ulong)i, term, maxData);
        return list;
    }

    public void Append(WriteAheadLog wal, HardState? hs, Entry[] entries)
    {
        wal.Append(hs, entries);
        // Entries then hard state, back to back, ending at the new write offset.
        long end = wal.WriteOffset;
        string seg = wal.Segments[^1].Path;
        int total = entries.Sum(e => WalRecord.EntryFrameSize(e)) + (hs is null ? 0 : WalRecord.FrameSize(WalRecord.HardStateSize));
        long off = end - total;
        foreach (Entry e in entries)
        {
            int size = WalRecord.EntryFrameSize(e);
            Entry copy = e;
            Records.Add(new WrittenRecord(seg, off, size, m => m.ApplyEntry(copy)));
            Model.ApplyEntry(e);
            off += size;
        }
        if (hs is { } h)
        {
            Records.Add(new WrittenRecord(seg, off, WalRecord.FrameSize(WalRecord.HardStateSize), m => m.ApplyHardState(h)));
            Model.ApplyHardState(h);
        }
    }

    public void Marker(WriteAheadLog wal, ulong index, ulong term)
    {
        wal.SaveSnapshotMarker(index, term);
        int size = WalRecord.FrameSize(WalRecord.SnapshotMarkerSize);
        Records.Add(new WrittenRecord(wal.Segments[^1].Path, wal.WriteOffset - size, size, m => m.ApplyMarker(index, term)));
        Model.ApplyMarker(index, term);
    }

    /// <summary>The model state after the first <paramref name="count"/> records.</summary>
    public WalModel ModelAfter(int count)
    {
        var m = new WalModel();
        for (int i = 0; i < count; i++) Records[i].Apply(m);
        return m;
    }
}
