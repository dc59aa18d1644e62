using Cairn.Raft.Storage;

namespace Cairn.Raft.Tests.Storage;

/// <summary>Random mixes of appends, overwrites, snapshots, releases and restarts, checked against the model.</summary>
public class WalRandomizedTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void RandomHistoryReplaysLikeTheModel(int seed)
    {
        using var dir = new TempDir();
        var rng = new Random(seed);
        var d = new WalDriver(seed);
        var options = new WalOptions { SegmentSize = 4096, Preallocation = (WalPreallocation)(seed % 3) };
        ulong term = 1;
        WriteAheadLog wal = WriteAheadLog.Open(dir.Path, options, out _);
        try
        {
            for (int step = 0; step < 400; step++)
            {
                int op = rng.Next(100);
                ulong last = d.Model.LastIndex, snap = d.Model.Snapshot.Index;
                if (op < 60)
                {
                    // Append, sometimes overwriting a suffix above the snapshot.
                    ulong first = last + 1;
                    if (rng.Next(5) == 0 && last > snap) { first = snap + 1 + (ulong)rng.NextInt64((long)(last - snap)); term++; }
                    HardState? hs = rng.Next(2) == 0 ? new HardState(term, (ulong)rng.Next(4), Math.Min(first - 1, last)) : null;
                    d.Append(wal, hs, d.MakeEntries(first, rng.Next(0, 8), term, 150));
                    if (rng.Next(4) != 0) wal.Sync();
                }
                else if (op < 70 && last > snap)
                {
                    ulong index = snap + 1 + (ulong)rng.NextInt64((long)(last - snap));
                    d.Marker(wal, index, term);
                    if (rng.Next(2) == 0) wal.ReleaseBefore(index + (ulong)rng.Next(2));
                }
                else if (op < 75)
                {
                    // Snapshot from a leader, ahead of the whole log.
                    d.Marker(wal, last + 1 + (ulong)rng.Next(50), ++term);
                }
                else if (op < 85)
                {
                    wal.Dispose();
                    wal = WriteAheadLog.Open(dir.Path, options, out WalReplay replay);
                    d.Model.AssertMatches(replay);
                    Assert.Null(replay.TruncatedTail);
                    Assert.Equal(d.Model.LastIndex, wal.LastIndex);
                }
            }
        }
        finally
        {
            wal.Dispose();
        }
        using (WriteAheadLog.Open(dir.Path, options, out WalReplay replay))
            d.Model.AssertMatches(replay);
    }
}
