using System.Runtime.CompilerServices;
using Cairn.Protocol;
using Etcdserverpb;
using Mvccpb;
using static Cairn.Mvcc.Tests.TestUtil;

namespace Cairn.Mvcc.Tests;

public sealed class CompactionTests
{
    private static CompactionResponse Compact(KvStore s, long rev) => s.Compact(new CompactionRequest { Revision = rev });

    [Fact]
    public void Errors()
    {
        var s = new KvStore();
        s.Put("a", "1"); // 2
        s.Put("a", "2"); // 3
        Throws(StatusCode.OutOfRange, "etcdserver: mvcc: required revision is a future revision", () => Compact(s, 4));
        Assert.Equal(3, Compact(s, 2).Header.Revision);
        Assert.Equal(2, s.CompactRevision);
        Throws(StatusCode.OutOfRange, "etcdserver: mvcc: required revision has been compacted", () => Compact(s, 2));
        Throws(StatusCode.OutOfRange, "etcdserver: mvcc: required revision has been compacted", () => Compact(s, 1));
        Compact(s, 3);
        Assert.Equal(3, s.CompactRevision);
    }

    [Fact]
    public void CompactAtZeroOnAFreshStoreSucceedsOnce()
    {
        // etcd's compactMainRev starts at -1 (verified against etcd 3.4.23).
        var s = new KvStore();
        Assert.Equal(1, Compact(s, 0).Header.Revision);
        Assert.Equal(0, s.CompactRevision);
        Throws(StatusCode.OutOfRange, EtcdErrors.CompactedMessage, () => Compact(s, 0));
        Compact(s, 1);
    }

    [Fact]
    public void DropsSupersededVersionsAndDeletedKeys()
    {
        var s = new KvStore();
        s.Put("a", "1");     // 2
        s.Put("b", "1");     // 3
        s.Put("a", "2");     // 4
        s.Delete("b");       // 5
        s.Put("c", "1");     // 6
        s.Put("a", "3");     // 7
        Compact(s, 5);
        Assert.Equal("a=2,c=1", s.All(6).Pairs());
        Assert.Equal("a=2", s.All(5).Pairs());
        Assert.Null(s.IndexOf(B("b").Span));                        // tombstone ≤ 5: gone
        Assert.Equal(["4.0", "7.0"], s.IndexOf(B("a").Span)!.Generations().Single().Select(v => v.ToString()));
        Assert.Null(s.Get(B("a").Span, 4));                         // compacted
        Assert.Equal("2", S(s.Get(B("a").Span, 5)!.Value));
    }

    [Fact]
    public void EventsAfterCompaction()
    {
        var s = new KvStore();
        s.Put("a", "1");     // 2
        s.Put("b", "1");     // 3
        s.Txn(new TxnRequest { Success = { Op(PutReq("c", "1")), Op(DelReq("a")) } }); // 4
        s.Put("d", "1");     // 5
        Compact(s, 4);
        var events = new List<Event>();
        Assert.Equal(6, s.ReadEvents(4, 10, 0, events));
        // At the compaction revision only the surviving puts remain (etcd replays the compacted
        // store: the delete of a at 4 is gone, as a watch from 4 on etcd 3.4.23 shows).
        Assert.Equal(["PUT c@4", "PUT d@5"], events.Select(e => $"{e.Type.ToString().ToUpperInvariant()} {S(e.Kv.Key)}@{e.Kv.ModRevision}"));
        Throws(StatusCode.OutOfRange, EtcdErrors.CompactedMessage, () => s.ReadEvents(3, 10, 0, []));
    }

    [Fact]
    public void ApproximateBytesGoesDown()
    {
        var s = new KvStore();
        var big = new string('x', 10_000);
        for (int i = 0; i < 50; i++)
        {
            s.Put("k", big + i);
        }
        long before = s.ApproximateBytes;
        Assert.True(before > 500_000);
        Compact(s, s.Revision);
        Assert.True(s.ApproximateBytes < 20_000, $"{s.ApproximateBytes}");
        s.Delete("k");
        Compact(s, s.Revision);
        Assert.Equal(0, s.ApproximateBytes);
        Assert.Equal(0, s.IndexedKeyCount);
    }

    [Fact]
    public void CompactedValuesAreCollected()
    {
        var s = new KvStore();
        var weak = WriteAndForget(s);
        s.Put("k", "new");
        for (int i = 0; i < 3000; i++)
        {
            s.Put("other" + (i % 10), "x"); // spread the log over several chunks
        }
        GC.Collect();
        GC.WaitForPendingFinalizers();
        Assert.True(weak.IsAlive); // still readable history
        Compact(s, s.Revision);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        Assert.False(weak.IsAlive);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference WriteAndForget(KvStore s)
    {
        s.Put(new PutRequest { Key = B("k"), Value = Google.Protobuf.ByteString.CopyFrom(new byte[100_000]) });
        // The stored value object, reachable only through the store's history.
        return new WeakReference(s.Get(B("k").Span, 0)!.Value);
    }

    [Fact]
    public void ObserverIsToldAfterTheCompaction()
    {
        var s = new KvStore();
        s.Put("a", "1");
        var obs = new Recorder(s);
        s.Observer = obs;
        Compact(s, 2);
        Assert.Equal([(2L, 2L)], obs.Compactions);
    }

    private sealed class Recorder(KvStore store) : IWriteObserver
    {
        public readonly List<(long Rev, long StoreCompact)> Compactions = [];

        public void OnWrite(long revision, IReadOnlyList<Event> events)
        {
        }

        public void OnCompact(long compactRevision) => Compactions.Add((compactRevision, store.CompactRevision));
    }
}
