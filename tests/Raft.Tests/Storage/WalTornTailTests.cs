using Cairn.Raft.Storage;

namespace Cairn.Raft.Tests.Storage;

/// <summary>
/// A crash between write and sync leaves the last write partly on disk. Whatever byte it stopped
/// at, reopening must give exactly the records before the torn one, and the log must keep working.
/// </summary>
public class WalTornTailTests
{
    private static readonly WalOptions NoPrealloc = new() { SegmentSize = 8192, Preallocation = WalPreallocation.None };
    private static readonly WalOptions Prealloc = new() { SegmentSize = 8192, Preallocation = WalPreallocation.ZeroFill };

    /// <summary>A log over two segments whose last few records mix entries, hard state and a marker.</summary>
    private static WalDriver BuildLog(string dir, WalOptions options)
    {
        var d = new WalDriver(11);
        using var wal = WriteAheadLog.Open(dir, options, out _);
        ulong next = 1;
        while (wal.Segments.Count < 2)
        {
            d.Append(wal, new HardState(1, 1, next - 1), d.MakeEntries(next, 4, 1, 100));
            next += 4;
            wal.Sync();
        }
        d.Marker(wal, 5, 1);
        d.Append(wal, new HardState(2, 3, next - 1), d.MakeEntries(next, 3, 2, 40)); // 3 entries + hard state
        next += 3;
        d.Append(wal, null, d.MakeEntries(next - 1, 2, 3, 24)); // overwrites the last entry, adds one
        wal.Sync();
        return d;
    }

    public static TheoryData<bool> Modes => new() { false, true };

    /// <summary>
    /// Cut (or, with preallocation, zero from) every byte offset of the last six records. Offsets
    /// inside a record lose that record and everything after it; the log is then appended to and
    /// reopened once more.
    /// </summary>
    [Theory]
    [MemberData(nameof(Modes))]
    public void EveryCutOffsetOfTheLastRecordsRecovers(bool preallocated)
    {
        WalOptions options = preallocated ? Prealloc : NoPrealloc;
        using var dir = new TempDir();
        string pristine = dir.Sub("pristine");
        WalDriver d = BuildLog(pristine, options);
        const int lastRecords = 6;
        int firstCut = d.Records.Count - lastRecords;
        string segName = Path.GetFileName(d.Records[^1].Segment);
        Assert.All(d.Records.Skip(firstCut), r => Assert.Equal(segName, Path.GetFileName(r.Segment)));

        int cases = 0;
        for (int r = firstCut; r < d.Records.Count; r++)
        {
            WrittenRecord rec = d.Records[r];
            byte[] original = File.ReadAllBytes(rec.Segment);
            for (long cut = rec.Offset; cut < rec.Offset + rec.Size; cut++)
            {
                // Zeroing only the (already zero) padding leaves the record intact: it then survives.
                bool intact = preallocated && cut > rec.Offset
                    && original.AsSpan((int)cut, (int)(rec.Offset + rec.Size - cut)).IndexOfAnyExcept((byte)0) < 0;
                WalModel expected = d.ModelAfter(intact ? r + 1 : r);
                string work = dir.Sub($"cut-{cut}");
                TempDir.Copy(pristine, work);
                string seg = Path.Combine(work, segName);
                using (var fs = new FileStream(seg, FileMode.Open, FileAccess.ReadWrite))
                {
                    if (preallocated)
                    {
                        fs.Position = cut; // the write reached the disk only up to here
                        fs.Write(new byte[fs.Length - cut]);
                    }
                    else
                    {
                        fs.SetLength(cut);
                    }
                }

                Entry extra;
                using (var wal = WriteAheadLog.Open(work, options, out WalReplay replay))
                {
                    expected.AssertMatches(replay);
                    if (cut == rec.Offset || intact) Assert.Null(replay.TruncatedTail); // clean record boundary
                    else Assert.Equal(rec.Offset, replay.TruncatedTail?.Offset);
                    extra = new Entry(replay.LastIndex + 1, 9, EntryType.Normal, new byte[] { 1, 2, 3, (byte)cut });
                    wal.Append(new HardState(9, 1, replay.LastIndex), [extra]);
                    wal.Sync();
                }
                using (WriteAheadLog.Open(work, options, out WalReplay again))
                {
                    WalModel after = expected.Clone();
                    after.ApplyEntry(extra);
                    after.ApplyHardState(new HardState(9, 1, expected.LastIndex));
                    after.AssertMatches(again);
                    Assert.Null(again.TruncatedTail);
                }
                Directory.Delete(work, recursive: true);
                cases++;
            }
        }
        Assert.True(cases > 300, $"only {cases} offsets tried");
    }

    [Fact]
    public void ZeroFilledTailIsTheEndOfTheLog()
    {
        using var dir = new TempDir();
        string wal = dir.Sub("wal");
        WalDriver d = BuildLog(wal, NoPrealloc);
        string seg = d.Records[^1].Segment;
        long len = new FileInfo(seg).Length;
        using (var fs = new FileStream(seg, FileMode.Append)) fs.Write(new byte[5000]); // as if preallocated
        using (WriteAheadLog.Open(wal, NoPrealloc, out WalReplay replay))
        {
            d.Model.AssertMatches(replay);
            Assert.Null(replay.TruncatedTail);
        }
        Assert.Equal(len + 5000, new FileInfo(seg).Length); // a clean end needs no repair
    }

    [Fact]
    public void GarbageAfterZerosWithNoValidRecordIsATornTail()
    {
        // Pages of an unsynced write reached the disk out of order: zeros, then a stray fragment.
        using var dir = new TempDir();
        string wal = dir.Sub("wal");
        WalDriver d = BuildLog(wal, NoPrealloc);
        string seg = d.Records[^1].Segment;
        long len = new FileInfo(seg).Length;
        using (var fs = new FileStream(seg, FileMode.Append))
        {
            fs.Write(new byte[64]);
            fs.Write(new byte[] { 0x13, 0, 0, 0, 2, 0, 0, 0, 0xde, 0xad });
        }
        using (var w = WriteAheadLog.Open(wal, NoPrealloc, out WalReplay replay))
        {
            d.Model.AssertMatches(replay);
            Assert.NotNull(replay.TruncatedTail);
            Assert.Equal(len, replay.TruncatedTail!.Offset);
        }
        Assert.Equal(len, new FileInfo(seg).Length);
    }
}
