using Cairn.Raft.Storage;

namespace Cairn.Raft.Tests.Storage;

/// <summary>Damage that is not a torn tail must stop the member, naming the file and offset.</summary>
public class WalCorruptionTests
{
    private static readonly WalOptions Options = new() { SegmentSize = 4096 };

    private static WalDriver BuildLog(string dir)
    {
        var d = new WalDriver(21);
        using var wal = WriteAheadLog.Open(dir, Options, out _);
        ulong next = 1;
        while (wal.Segments.Count < 3)
        {
            d.Append(wal, new HardState(1, 1, next - 1), d.MakeEntries(next, 3, 1, 120));
            next += 3;
            wal.Sync();
        }
        d.Append(wal, null, d.MakeEntries(next, 6, 1, 30));
        wal.Sync();
        return d;
    }

    private static void Flip(string path, long offset, byte mask = 0xFF)
    {
        using var fs = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
        fs.Position = offset;
        int b = fs.ReadByte();
        fs.Position = offset;
        fs.WriteByte((byte)(b ^ mask));
    }

    [Fact]
    public void EveryByteOfAMiddleRecordInTheLastSegmentIsChecked()
    {
        using var dir = new TempDir();
        string pristine = dir.Sub("pristine");
        WalDriver d = BuildLog(pristine);
        WrittenRecord victim = d.Records[^3]; // two good records follow it
        string segName = Path.GetFileName(victim.Segment);
        Assert.Equal(segName, Path.GetFileName(d.Records[^1].Segment));
        for (long off = victim.Offset; off < victim.Offset + victim.Size; off++)
        {
            string work = dir.Sub($"flip-{off}");
            TempDir.Copy(pristine, work);
            string seg = Path.Combine(work, segName);
            Flip(seg, off);
            var ex = Assert.Throws<WalCorruptException>(() => WriteAheadLog.Open(work, Options, out _));
            Assert.Equal(seg, ex.FilePath);
            Assert.Equal(victim.Offset, ex.Offset);
            Assert.Contains(seg, ex.Message);
            Directory.Delete(work, true);
        }
    }

    [Fact]
    public void AnyBadRecordInANonLastSegmentIsCorruption()
    {
        using var dir = new TempDir();
        string pristine = dir.Sub("pristine");
        WalDriver d = BuildLog(pristine);
        string firstSeg = d.Records[0].Segment;
        // Including the very last record of the segment: in a closed segment that is no tail.
        WrittenRecord[] victims = [.. d.Records.Where(r => r.Segment == firstSeg)];
        foreach (WrittenRecord victim in new[] { victims[1], victims[^1] })
        {
            foreach (long off in new[] { victim.Offset, victim.Offset + 4, victim.Offset + 8, victim.Offset + victim.Size - 1 })
            {
                string work = dir.Sub($"flip-{off}");
                TempDir.Copy(pristine, work);
                string seg = Path.Combine(work, Path.GetFileName(firstSeg));
                Flip(seg, off);
                var ex = Assert.Throws<WalCorruptException>(() => WriteAheadLog.Open(work, Options, out _));
                Assert.Equal(seg, ex.FilePath);
                Assert.Equal(victim.Offset, ex.Offset);
                Directory.Delete(work, true);
            }
        }
    }

    [Fact]
    public void TruncatedNonLastSegmentIsCorruption()
    {
        using var dir = new TempDir();
        WalDriver d = BuildLog(dir.Path);
        string seg = d.Records[0].Segment;
        using (var fs = new FileStream(seg, FileMode.Open)) fs.SetLength(fs.Length - 3);
        var ex = Assert.Throws<WalCorruptException>(() => WriteAheadLog.Open(dir.Path, Options, out _));
        Assert.Equal(seg, ex.FilePath);
    }

    [Fact]
    public void MissingMiddleSegmentIsCorruption()
    {
        using var dir = new TempDir();
        BuildLog(dir.Path);
        string[] segs = Directory.GetFiles(dir.Path, "*.wal").Order().ToArray();
        File.Delete(segs[1]);
        var ex = Assert.Throws<WalCorruptException>(() => WriteAheadLog.Open(dir.Path, Options, out _));
        Assert.Contains("missing", ex.Message);
    }

    [Fact]
    public void CorruptionLeavesTheFilesUntouched()
    {
        using var dir = new TempDir();
        WalDriver d = BuildLog(dir.Path);
        WrittenRecord victim = d.Records[^3];
        Flip(victim.Segment, victim.Offset + WalRecord.HeaderSize + 1, 0x01);
        byte[] before = File.ReadAllBytes(victim.Segment);
        Assert.Throws<WalCorruptException>(() => WriteAheadLog.Open(dir.Path, Options, out _));
        Assert.Equal(before, File.ReadAllBytes(victim.Segment));
        Assert.Throws<WalCorruptException>(() => WriteAheadLog.Open(dir.Path, Options, out _)); // and stays an error
    }

    /// <summary>
    /// The test that proves the checksum bites: a single flipped bit in the last record's payload is
    /// detected, so that record is not replayed (it is a tail: cut off and reported).
    /// </summary>
    [Fact]
    public void BitFlipInLastRecordPayloadIsDetected()
    {
        using var dir = new TempDir();
        WalDriver d = BuildLog(dir.Path);
        WrittenRecord last = d.Records[^1];
        Flip(last.Segment, last.Offset + WalRecord.HeaderSize + 3, 0x10);
        using var wal = WriteAheadLog.Open(dir.Path, Options, out WalReplay replay);
        Assert.NotNull(replay.TruncatedTail);
        Assert.Equal(last.Offset, replay.TruncatedTail!.Offset);
        Assert.Equal("BadChecksum", replay.TruncatedTail.Reason);
        d.ModelAfter(d.Records.Count - 1).AssertMatches(replay);
    }

    [Fact]
    public void EveryBitOfAFrameIsCovered()
    {
        var frame = new byte[WalRecord.FrameSize(WalRecord.EntryPrefix + 5)];
        int size = WalRecord.WriteEntry(frame, new Entry(9, 2, EntryType.Normal, new byte[] { 1, 2, 3, 4, 5 }));
        Assert.Equal(frame.Length, size);
        Assert.Equal(WalFrameStatus.Ok, WalRecord.TryDecode(frame, out _, out _, out _));
        for (int bit = 0; bit < frame.Length * 8; bit++)
        {
            frame[bit / 8] ^= (byte)(1 << (bit % 8));
            Assert.NotEqual(WalFrameStatus.Ok, WalRecord.TryDecode(frame, out _, out _, out _));
            frame[bit / 8] ^= (byte)(1 << (bit % 8));
        }
    }
}
