using Cairn.Protocol;
using Etcdserverpb;
using Mvccpb;
using static Cairn.Mvcc.Tests.TestUtil;

namespace Cairn.Mvcc.Tests;

public sealed class SnapshotTests
{
    [Theory]
    [InlineData(11)]
    [InlineData(12)]
    [InlineData(13)]
    public void RoundTripIsByteIdenticalAndReadsMatch(int seed)
    {
        var store = PropertyTests.Run(seed, 1500);
        byte[] bytes = Snapshot(store);
        var copy = KvStore.ReadSnapshot(new MemoryStream(bytes));
        Assert.Equal(bytes, Snapshot(copy));
        Assert.Equal(store.Revision, copy.Revision);
        Assert.Equal(store.CompactRevision, copy.CompactRevision);
        Assert.Equal(store.ApproximateBytes, copy.ApproximateBytes);
        for (long rev = Math.Max(1, store.CompactRevision); rev <= store.Revision; rev++)
        {
            Assert.Equal(store.All(rev), copy.All(rev));
        }
        var a = new List<Event>();
        var b = new List<Event>();
        store.ReadEvents(store.CompactRevision, store.Revision, 0, a);
        copy.ReadEvents(copy.CompactRevision, copy.Revision, 0, b);
        Assert.Equal(a, b);
        Assert.Equal(store.HashKV(0, out _, out _), copy.HashKV(0, out _, out _));

        // Both keep working identically.
        store.Put("after", "x");
        copy.Put("after", "x");
        Assert.Equal(Snapshot(store), Snapshot(copy));
    }

    [Fact]
    public void EmptyStoreRoundTrips()
    {
        var store = new KvStore();
        var bytes = Snapshot(store);
        var copy = KvStore.ReadSnapshot(new MemoryStream(bytes));
        Assert.Equal(1, copy.Revision);
        Assert.Equal(bytes, Snapshot(copy));
        // A never-compacted store still allows the one compaction at 0, as etcd.
        copy.Compact(new CompactionRequest { Revision = 0 });
        Throws(StatusCode.OutOfRange, EtcdErrors.CompactedMessage, () => copy.Compact(new CompactionRequest { Revision = 0 }));
    }

    [Fact]
    public void CorruptionIsDetected()
    {
        var store = new KvStore();
        store.Put("a", "1");
        store.Put("b", "2");
        var bytes = Snapshot(store);
        for (int i = 0; i < bytes.Length; i++)
        {
            var bad = (byte[])bytes.Clone();
            bad[i] ^= 0x40;
            Assert.ThrowsAny<InvalidDataException>(() => KvStore.ReadSnapshot(new MemoryStream(bad)));
        }
        Assert.ThrowsAny<InvalidDataException>(() => KvStore.ReadSnapshot(new MemoryStream(bytes[..^1])));
    }

    [Fact]
    public void ReadsExactlyTheSnapshotFromALargerStream()
    {
        var store = new KvStore();
        store.Put("a", "1");
        var ms = new MemoryStream();
        store.WriteSnapshot(ms);
        long end = ms.Position;
        ms.Write([1, 2, 3]);
        ms.Position = 0;
        KvStore.ReadSnapshot(ms);
        Assert.Equal(end, ms.Position);
    }
}
