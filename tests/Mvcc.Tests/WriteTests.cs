using Cairn.Protocol;
using Etcdserverpb;
using Mvccpb;
using static Cairn.Mvcc.Tests.TestUtil;

namespace Cairn.Mvcc.Tests;

public sealed class WriteTests
{
    private static KvStore WithLeases() => new(new MvccOptions { LeaseExists = id => id is 10 or 20 });

    [Fact]
    public void PutVersionsAndCreateRevision()
    {
        var s = new KvStore();
        s.Put("k", "1");
        s.Put("k", "2");
        var kv = s.Get("k").Kvs[0];
        Assert.Equal((2L, 3L, 2L), (kv.CreateRevision, kv.ModRevision, kv.Version));
        s.Delete("k");
        s.Put("k", "3");
        kv = s.Get("k").Kvs[0];
        Assert.Equal((5L, 5L, 1L), (kv.CreateRevision, kv.ModRevision, kv.Version)); // a new generation
    }

    [Fact]
    public void PutPrevKv()
    {
        var s = new KvStore();
        Assert.Null(s.Put("k", "1", prevKv: true).PrevKv);
        var r = s.Put("k", "2", prevKv: true);
        Assert.Equal("1", S(r.PrevKv.Value));
        Assert.Equal(3, r.Header.Revision);
        Assert.Null(s.Put("k", "3").PrevKv); // not asked
    }

    [Fact]
    public void IgnoreValueAndIgnoreLease()
    {
        var s = WithLeases();
        s.Put("k", "v", lease: 10);
        s.Put(new PutRequest { Key = B("k"), IgnoreValue = true, Lease = 20 });
        var kv = s.Get("k").Kvs[0];
        Assert.Equal(("v", 20L, 2L), (S(kv.Value), kv.Lease, kv.Version));
        s.Put(new PutRequest { Key = B("k"), Value = B("w"), IgnoreLease = true });
        kv = s.Get("k").Kvs[0];
        Assert.Equal(("w", 20L), (S(kv.Value), kv.Lease));
        s.Put("k", "x"); // no lease: detached
        Assert.Equal(0, s.Get("k").Kvs[0].Lease);
    }

    [Fact]
    public void IgnoreFlagsOnAMissingKeyFailAndChangeNothing()
    {
        var s = WithLeases();
        s.Put("other", "1");
        Throws(StatusCode.InvalidArgument, "etcdserver: key not found", () => s.Put(new PutRequest { Key = B("k"), IgnoreValue = true }));
        Throws(StatusCode.InvalidArgument, "etcdserver: key not found", () => s.Put(new PutRequest { Key = B("k"), IgnoreLease = true }));
        s.Delete("other");
        Throws(StatusCode.InvalidArgument, "etcdserver: key not found", () => s.Put(new PutRequest { Key = B("other"), IgnoreValue = true }));
        Assert.Equal(3, s.Revision);
        Assert.Null(s.IndexOf(B("k").Span));
    }

    [Fact]
    public void UnknownLease()
    {
        var s = WithLeases();
        Throws(StatusCode.NotFound, "etcdserver: requested lease not found", () => s.Put("k", "v", lease: 30));
        // etcd checks the lease before the key for a plain put.
        Throws(StatusCode.NotFound, "etcdserver: requested lease not found", () => s.Put(new PutRequest { Key = B("k"), Lease = 30, IgnoreValue = true }));
        Assert.Equal(1, s.Revision);
        Assert.Equal(0, s.ApproximateBytes);
        // Without a LeaseExists hook every lease is accepted.
        var plain = new KvStore();
        plain.Put("k", "v", lease: 30);
        Assert.Equal(30, plain.Get("k").Kvs[0].Lease);
    }

    [Fact]
    public void DeleteRangeOneRevisionForAll()
    {
        var s = new KvStore();
        s.Put("a", "1");
        s.Put("b", "2");
        s.Put("c", "3");
        var r = s.Delete("a", "c", prevKv: true);
        Assert.Equal(2, r.Deleted);
        Assert.Equal(5, r.Header.Revision);
        Assert.Equal("a,b", string.Join(",", r.PrevKvs.Select(kv => S(kv.Key))));
        Assert.Equal("1", S(r.PrevKvs[0].Value));
        Assert.Equal(5, s.Revision);
        var events = new List<Event>();
        s.ReadEvents(5, 5, 0, events);
        Assert.Equal(2, events.Count);
        Assert.All(events, e => Assert.Equal(Event.Types.EventType.Delete, e.Type));
        Assert.Equal(new KeyValue { Key = B("a"), ModRevision = 5 }, events[0].Kv);
    }

    [Fact]
    public void DeletingNothingKeepsTheRevision()
    {
        var s = new KvStore();
        s.Put("a", "1");
        var r = s.Delete("x");
        Assert.Equal(0, r.Deleted);
        Assert.Equal(2, r.Header.Revision);
        Assert.Equal(2, s.Revision);
        Assert.Empty(r.PrevKvs);
        r = s.Delete("\0", "\0", prevKv: true);
        Assert.Equal(1, r.Deleted);
        Assert.Equal(0, s.Delete("\0", "\0").Deleted);
        Assert.Equal(3, s.Revision);
    }

    [Fact]
    public void KeysWithLeaseFollowsTheLatestValues()
    {
        var s = WithLeases();
        s.Put("b", "1", lease: 10);
        s.Put("a", "1", lease: 10);
        s.Put("c", "1", lease: 20);
        Assert.Equal(["a", "b"], s.KeysWithLease(10).Select(S));
        s.Put("a", "2");                                                       // detached
        s.Put(new PutRequest { Key = B("c"), IgnoreLease = true, Value = B("3") }); // stays on 20
        s.Txn(new TxnRequest { Success = { Op(DelReq("b")), Op(new PutRequest { Key = B("d"), Lease = 20 }) } });
        Assert.Empty(s.KeysWithLease(10));
        Assert.Equal(["c", "d"], s.KeysWithLease(20).Select(S));
        // a failed txn changes nothing
        Assert.ThrowsAny<RpcException>(() => s.Txn(new TxnRequest { Success = { Op(new PutRequest { Key = B("e"), Lease = 10 }), Op(new PutRequest { Key = B("f"), Lease = 99 }) } }));
        Assert.Empty(s.KeysWithLease(10));
        var copy = KvStore.ReadSnapshot(new MemoryStream(Snapshot(s)));
        Assert.Equal(["c", "d"], copy.KeysWithLease(20).Select(S));
    }
}
