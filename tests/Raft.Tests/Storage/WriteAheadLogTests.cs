using Cairn.Raft.Storage;

namespace Cairn.Raft.Tests.Storage;

public class WriteAheadLogTests
{
    private static readonly WalOptions Small = new() { SegmentSize = 4096 };

    [Fact]
    public void FreshLogReplaysEmpty()
    {
        using var dir = new TempDir();
        using (var wal = WriteAheadLog.Open(dir.Sub("wal"), Small, out WalReplay replay))
        {
            Assert.True(replay.HardState.IsEmpty);
            Assert.Empty(replay.Entries);
            Assert.Equal(0UL, replay.LastIndex);
            Assert.Null(replay.TruncatedTail);
        }
        using (WriteAheadLog.Open(dir.Sub("wal"), Small, out WalReplay replay))
        {
            Assert.Empty(replay.Entries);
            Assert.Null(replay.TruncatedTail);
        }
    }

    [Theory]
    [InlineData(WalPreallocation.None)]
    [InlineData(WalPreallocation.Allocate)]
    [InlineData(WalPreallocation.ZeroFill)]
    public void RoundTripAcrossManySegments(WalPreallocation prealloc)
    {
        using var dir = new TempDir();
        var options = Small with { Preallocation = prealloc };
        var d = new WalDriver(42);
        var rng = new Random(7);
        ulong next = 1, term = 1;
        using (var wal = WriteAheadLog.Open(dir.Sub("wal"), options, out _))
        {
            for (int batch = 0; batch < 120; batch++)
            {
                int n = rng.Next(0, 6);
                HardState? hs = rng.Next(3) == 0 ? new HardState(term, 2, next - 1) : null;
                if (n == 0 && hs is null) continue;
                d.Append(wal, hs, d.MakeEntries(next, n, term, maxData: 300));
                next += (ulong)n;
                if (rng.Next(10) == 0) term++;
                wal.Sync();
            }
            Assert.True(wal.Segments.Count > 5, $"expected several segments, got {wal.Segments.Count}");
        }
        Assert.Empty(Directory.GetFiles(dir.Sub("wal"), "*.tmp")); // the prepared spare segment is cleaned up
        // Non-last segments are truncated to their used length; only the last is preallocated.
        string[] files = Directory.GetFiles(dir.Sub("wal"), "*.wal").Order().ToArray();
        if (prealloc == WalPreallocation.ZeroFill) Assert.Equal(4096, new FileInfo(files[^1]).Length);

        using (var wal = WriteAheadLog.Open(dir.Sub("wal"), options, out WalReplay replay))
        {
            d.Model.AssertMatches(replay);
            Assert.Null(replay.TruncatedTail);
            Assert.Equal(next - 1, wal.LastIndex);
            // Keep going after a reopen, through more rollovers, and check again.
            for (int batch = 0; batch < 40; batch++)
            {
                d.Append(wal, new HardState(term, 3, next - 1), d.MakeEntries(next, 3, term, maxData: 300));
                next += 3;
                wal.Sync();
            }
        }
        using (WriteAheadLog.Open(dir.Sub("wal"), options, out WalReplay replay))
            d.Model.AssertMatches(replay);
    }

    [Fact]
    public void ConflictingSuffixIsOverwritten()
    {
        using var dir = new TempDir();
        var d = new WalDriver(1);
        using (var wal = WriteAheadLog.Open(dir.Sub("wal"), Small, out _))
        {
            d.Append(wal, new HardState(1, 1, 0), d.MakeEntries(1, 10, 1));
            d.Append(wal, new HardState(2, 3, 5), d.MakeEntries(6, 3, 2)); // new leader replaces 6..10 with 6..8
            wal.Sync();
            Assert.Equal(8UL, wal.LastIndex);
        }
        using (var wal = WriteAheadLog.Open(dir.Sub("wal"), Small, out WalReplay replay))
        {
            d.Model.AssertMatches(replay);
            Assert.Equal([1UL, 2, 3, 4, 5, 6, 7, 8], replay.Entries.Select(e => e.Index));
            Assert.Equal([1UL, 1, 1, 1, 1, 2, 2, 2], replay.Entries.Select(e => e.Term));
            // Overwrite again right after the reopen, at an index below everything in the last batch.
            d.Append(wal, null, d.MakeEntries(3, 1, 3));
        }
        using (WriteAheadLog.Open(dir.Sub("wal"), Small, out WalReplay replay))
        {
            d.Model.AssertMatches(replay);
            Assert.Equal([1UL, 2, 3], replay.Entries.Select(e => e.Index));
        }
    }

    [Fact]
    public void OverwriteReachingBackIntoOlderSegments()
    {
        using var dir = new TempDir();
        var d = new WalDriver(2);
        using (var wal = WriteAheadLog.Open(dir.Sub("wal"), Small, out _))
        {
            for (ulong i = 1; i <= 100; i += 10) { d.Append(wal, null, d.MakeEntries(i, 10, 1, 200)); wal.Sync(); }
            Assert.True(wal.Segments.Count >= 3);
            d.Append(wal, new HardState(2, 2, 10), d.MakeEntries(20, 5, 2)); // 20..100 from older segments replaced
            wal.Sync();
        }
        using (WriteAheadLog.Open(dir.Sub("wal"), Small, out WalReplay replay))
        {
            d.Model.AssertMatches(replay);
            Assert.Equal(24UL, replay.LastIndex);
        }
    }

    [Fact]
    public void SnapshotMarkerAndReleaseBefore()
    {
        using var dir = new TempDir();
        var d = new WalDriver(3);
        int before;
        using (var wal = WriteAheadLog.Open(dir.Sub("wal"), Small, out _))
        {
            d.Append(wal, new HardState(4, 2, 0), []); // only ever written in the first segment
            for (ulong i = 1; i <= 200; i += 10) { d.Append(wal, null, d.MakeEntries(i, 10, 4, 200)); wal.Sync(); }
            before = wal.Segments.Count;
            Assert.True(before >= 5);
            Assert.Throws<ArgumentOutOfRangeException>(() => wal.ReleaseBefore(151)); // no snapshot covers it yet
            d.Marker(wal, 150, 4);
            wal.ReleaseBefore(151);
            Assert.True(wal.Segments.Count < before, "old segments should have been deleted");
            Assert.True(wal.Segments[0].FirstIndex <= 151);
            Assert.Equal(wal.Segments.Count, Directory.GetFiles(dir.Sub("wal"), "*.wal").Length);
            Assert.Throws<ArgumentException>(() => wal.Append(null, d.MakeEntries(150, 1, 4))); // at/below the snapshot
        }
        using (var wal = WriteAheadLog.Open(dir.Sub("wal"), Small, out WalReplay replay))
        {
            d.Model.AssertMatches(replay); // hard state survived via the segment prelude
            Assert.Equal(new HardState(4, 2, 0), replay.HardState);
            Assert.Equal(new WalSnapshotMarker(150, 4), replay.Snapshot);
            Assert.Equal(151UL, replay.Entries[0].Index);
            Assert.Equal(200UL, replay.LastIndex);
            d.Append(wal, new HardState(5, 1, 200), d.MakeEntries(201, 3, 5));
        }
        using (WriteAheadLog.Open(dir.Sub("wal"), Small, out WalReplay replay))
            d.Model.AssertMatches(replay);
    }

    [Fact]
    public void SnapshotBeyondTheLogLetsTheLogRestartAfterIt()
    {
        // A follower that installs a leader's snapshot far ahead of its own log.
        using var dir = new TempDir();
        var d = new WalDriver(4);
        using (var wal = WriteAheadLog.Open(dir.Sub("wal"), Small, out _))
        {
            d.Append(wal, new HardState(1, 0, 3), d.MakeEntries(1, 5, 1));
            d.Marker(wal, 1000, 3);
            Assert.Throws<ArgumentException>(() => wal.Append(null, d.MakeEntries(6, 1, 3)));
            d.Append(wal, new HardState(3, 0, 1000), d.MakeEntries(1001, 2, 3));
            wal.ReleaseBefore(1001);
        }
        using (WriteAheadLog.Open(dir.Sub("wal"), Small, out WalReplay replay))
        {
            d.Model.AssertMatches(replay);
            Assert.Equal([1001UL, 1002], replay.Entries.Select(e => e.Index));
        }
    }

    [Fact]
    public void AppendRejectsGapsAndNonContiguousBatches()
    {
        using var dir = new TempDir();
        var d = new WalDriver(5);
        using var wal = WriteAheadLog.Open(dir.Sub("wal"), Small, out _);
        Assert.Throws<ArgumentException>(() => wal.Append(null, d.MakeEntries(2, 1, 1))); // log is empty: must start at 1
        wal.Append(null, d.MakeEntries(1, 3, 1));
        Assert.Throws<ArgumentException>(() => wal.Append(null, d.MakeEntries(5, 1, 1)));
        Assert.Throws<ArgumentException>(() => wal.Append(null, [d.MakeEntry(4, 1), d.MakeEntry(6, 1)]));
        Assert.Equal(3UL, wal.LastIndex);
    }

    [Fact]
    public void SecondOpenOfTheSameDirectoryIsRefused()
    {
        using var dir = new TempDir();
        using var wal = WriteAheadLog.Open(dir.Sub("wal"), Small, out _);
        Assert.ThrowsAny<IOException>(() => WriteAheadLog.Open(dir.Sub("wal"), Small, out _));
    }

    [Fact]
    public void BatchLargerThanASegmentGoesWhole()
    {
        using var dir = new TempDir();
        var d = new WalDriver(6);
        using (var wal = WriteAheadLog.Open(dir.Sub("wal"), Small, out _))
        {
            d.Append(wal, null, d.MakeEntries(1, 2, 1));
            d.Append(wal, new HardState(1, 1, 2), [new Entry(3, 1, EntryType.Normal, new byte[10_000])]);
            d.Append(wal, null, d.MakeEntries(4, 2, 1));
            wal.Sync();
        }
        using (WriteAheadLog.Open(dir.Sub("wal"), Small, out WalReplay replay))
            d.Model.AssertMatches(replay);
    }

    [Fact]
    public void DisposeSyncsAndUnsyncedAppendsAreStillReplayedAfterCleanClose()
    {
        using var dir = new TempDir();
        var d = new WalDriver(7);
        using (var wal = WriteAheadLog.Open(dir.Sub("wal"), WalOptions.Default, out _))
            d.Append(wal, new HardState(1, 1, 1), d.MakeEntries(1, 4, 1));
        using (WriteAheadLog.Open(dir.Sub("wal"), WalOptions.Default, out WalReplay replay))
            d.Model.AssertMatches(replay);
    }

    [Fact]
    public void LeftoverTempFilesFromACrashedRolloverAreRemoved()
    {
        using var dir = new TempDir();
        var d = new WalDriver(8);
        using (var wal = WriteAheadLog.Open(dir.Sub("wal"), Small, out _))
            d.Append(wal, new HardState(1, 1, 0), d.MakeEntries(1, 3, 1));
        File.WriteAllBytes(Path.Combine(dir.Sub("wal"), "spare-3.wal.tmp"), new byte[4096]);
        File.WriteAllBytes(Path.Combine(dir.Sub("wal"), WriteAheadLog.SegmentName(2, 4) + ".tmp"), [1, 2, 3]);
        using (WriteAheadLog.Open(dir.Sub("wal"), Small, out WalReplay replay))
        {
            d.Model.AssertMatches(replay);
            Assert.Empty(Directory.GetFiles(dir.Sub("wal"), "*.tmp"));
        }
    }

    [Fact]
    public void EntriesAfterAnOlderSnapshotAreAvailableUntilReleased()
    {
        using var dir = new TempDir();
        var d = new WalDriver(9);
        using (var wal = WriteAheadLog.Open(dir.Sub("wal"), Small, out _))
        {
            for (ulong i = 1; i <= 60; i += 10) { d.Append(wal, null, d.MakeEntries(i, 10, 1, 400)); wal.Sync(); }
            d.Marker(wal, 20, 1);
            d.Marker(wal, 40, 1);
            wal.ReleaseBefore(21); // keep what the older snapshot (20) needs
        }
        using (var wal = WriteAheadLog.Open(dir.Sub("wal"), Small, out WalReplay replay))
        {
            d.Model.AssertMatches(replay);
            Assert.True(replay.TryGetEntriesAfter(20, 1, out IReadOnlyList<Entry> older));
            Assert.Equal(Enumerable.Range(21, 40).Select(i => (ulong)i), older.Select(e => e.Index));
            Assert.False(replay.TryGetEntriesAfter(25, 2, out _)); // entry 25 has term 1: not that history
            Assert.True(replay.TryGetEntriesAfter(40, 1, out IReadOnlyList<Entry> newest));
            Assert.Equal(replay.Entries, newest);
            ulong oldest = wal.Segments[0].FirstIndex;
            Assert.InRange(oldest, 2UL, 21UL); // something was released, but not what snapshot 20 needs
            Assert.False(replay.TryGetEntriesAfter(oldest - 2, 1, out _)); // released
            Assert.True(replay.TryGetEntriesAfter(oldest - 1, 1, out _));
            wal.ReleaseBefore(41);
        }
        using (WriteAheadLog.Open(dir.Sub("wal"), Small, out WalReplay replay))
        {
            d.Model.AssertMatches(replay);
            Assert.False(replay.TryGetEntriesAfter(20, 1, out _));
        }
    }

    [Fact]
    public void ALeadersSnapshotThatDoesNotMatchTheLogHidesTheOldPrefix()
    {
        using var dir = new TempDir();
        var d = new WalDriver(10);
        using (var wal = WriteAheadLog.Open(dir.Sub("wal"), Small, out _))
        {
            d.Append(wal, null, d.MakeEntries(1, 10, 1));
            d.Marker(wal, 8, 2); // the leader's entry 8 has term 2: our 1..8 are not its history
            d.Append(wal, null, d.MakeEntries(9, 2, 2));
        }
        using (WriteAheadLog.Open(dir.Sub("wal"), Small, out WalReplay replay))
        {
            d.Model.AssertMatches(replay);
            Assert.False(replay.TryGetEntriesAfter(5, 1, out _));
            Assert.True(replay.TryGetEntriesAfter(9, 2, out IReadOnlyList<Entry> tail));
            Assert.Equal([10UL], tail.Select(e => e.Index));
        }
    }
}
