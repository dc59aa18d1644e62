using Cairn.Protocol;
using Etcdserverpb;
using static Cairn.Mvcc.Tests.TestUtil;

namespace Cairn.Mvcc.Tests;

/// <summary>
/// Values recorded from a real etcd 3.4.23 (etcdctl endpoint hashkv, grpc-gateway requests) that
/// applied the same requests.
/// </summary>
public sealed class EtcdCompatibilityTests
{
    [Fact]
    public void Crc32CMatchesTheStandardCheckValue()
    {
        Assert.Equal(0xE3069283u, Crc32C.Compute("123456789"u8));
    }

    [Fact]
    public void HashKVEqualsEtcds()
    {
        var s = new KvStore();
        Assert.Equal(1084519789u, s.HashKV(0, out long compact, out long hashRev));
        Assert.Equal(-1, compact);
        Assert.Equal(1, hashRev);

        s.Put("foo", "bar");                                   // 2
        s.Put("foo", "baz");                                   // 3
        s.Put("k1", "v1", lease: 1234);                        // 4
        s.Delete("foo");                                       // 5
        s.Txn(new TxnRequest                                   // 6
        {
            Success = { Op(PutReq("a", "1")), Op(PutReq("b", "2")), Op(DelReq("k1")) },
        });
        s.Put("foo", "again");                                 // 7

        Assert.Equal(1085739285u, s.HashKV(0, out _, out hashRev));
        Assert.Equal(7, hashRev);
        Assert.Equal(3600401160u, s.HashKV(4, out _, out hashRev));
        Assert.Equal(4, hashRev);
        Assert.Equal(3704042307u, s.HashKV(6, out _, out _));

        s.Compact(new CompactionRequest { Revision = 5 });
        Assert.Equal(2847209569u, s.HashKV(0, out compact, out _));
        Assert.Equal(5, compact);
        Assert.Equal(2818816225u, s.HashKV(6, out _, out _));
        Assert.Equal(2847209569u, s.HashKV(7, out _, out _));
        Throws(StatusCode.OutOfRange, EtcdErrors.CompactedMessage, () => s.HashKV(5, out _, out _));
        Throws(StatusCode.OutOfRange, EtcdErrors.FutureRevMessage, () => s.HashKV(8, out _, out _));

        s.Delete("\0", "\0");                                  // 8
        Assert.Equal(2235131931u, s.HashKV(0, out _, out _));
        s.Compact(new CompactionRequest { Revision = 8 });
        Assert.Equal(1084519789u, s.HashKV(0, out compact, out _));
        Assert.Equal(8, compact);
    }

    [Fact]
    public void HashKVSurvivesSnapshotRoundTrip()
    {
        var store = PropertyTests.Run(4242, 600);
        var copy = KvStore.ReadSnapshot(new MemoryStream(Snapshot(store)));
        Assert.Equal(store.HashKV(0, out _, out _), copy.HashKV(0, out _, out _));
    }
}
