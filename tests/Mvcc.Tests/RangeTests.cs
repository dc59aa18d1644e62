using Cairn.Protocol;
using Etcdserverpb;
using static Cairn.Mvcc.Tests.TestUtil;
using SortOrder = Etcdserverpb.RangeRequest.Types.SortOrder;
using SortTarget = Etcdserverpb.RangeRequest.Types.SortTarget;

namespace Cairn.Mvcc.Tests;

public sealed class RangeTests
{
    /// <summary>a@2 b@3 c@4 d@5, then b again @6 (version 2), c deleted @7.</summary>
    private static KvStore Store()
    {
        var s = new KvStore();
        s.Put("a", "3");
        s.Put("b", "1");
        s.Put("c", "2");
        s.Put("d", "0");
        s.Put("b", "4");
        s.Delete("c");
        return s;
    }

    [Fact]
    public void FreshStoreIsAtRevisionOne()
    {
        var s = new KvStore();
        Assert.Equal(1, s.Revision);
        var r = s.Get("a");
        Assert.Equal(1, r.Header.Revision);
        Assert.Empty(r.Kvs);
        Assert.Equal(0, r.Count);
        Assert.Equal(2, s.Put("a", "1").Header.Revision);
    }

    [Fact]
    public void RangeEndForms()
    {
        var s = Store();
        s.Put("ab", "x"); // 8
        Assert.Equal("a", s.Get("a").Keys());                 // single key
        Assert.Equal("", s.Get("aa").Keys());
        Assert.Equal("a,ab,b", s.Get("a", "c").Keys());       // [a, c)
        Assert.Equal("b,d", s.Get("b", "\0").Keys());         // everything ≥ b
        Assert.Equal("a,ab,b,d", s.Get("\0", "\0").Keys());   // everything
        Assert.Equal("a,ab", s.Get("a", "b").Keys());         // prefix "a"
        Assert.Equal("", s.Get("c", "a").Keys());             // end before key: nothing
        Assert.Equal("", s.Get("b", "b").Keys());
    }

    [Fact]
    public void KeyValueFields()
    {
        var s = Store();
        var b = s.Get("b").Kvs.Single();
        Assert.Equal(3, b.CreateRevision);
        Assert.Equal(6, b.ModRevision);
        Assert.Equal(2, b.Version);
        Assert.Equal("4", S(b.Value));
    }

    [Fact]
    public void LimitSetsMoreButNotCount()
    {
        var s = Store();
        var r = s.Range(new RangeRequest { Key = B("\0"), RangeEnd = B("\0"), Limit = 2 });
        Assert.Equal("a,b", r.Keys());
        Assert.True(r.More);
        Assert.Equal(3, r.Count);
        r = s.Range(new RangeRequest { Key = B("\0"), RangeEnd = B("\0"), Limit = 3 });
        Assert.False(r.More);
        r = s.Range(new RangeRequest { Key = B("\0"), RangeEnd = B("\0"), Limit = -1 });
        Assert.Equal("a,b,d", r.Keys());
    }

    [Fact]
    public void PastRevisionsAndHeader()
    {
        var s = Store();
        var r = s.All(5);
        Assert.Equal("a=3,b=1,c=2,d=0", r.Pairs());
        Assert.Equal(7, r.Header.Revision); // the current revision, as etcd
        Assert.Equal("a=3,b=4,c=2,d=0", s.All(6).Pairs());
        Assert.Equal("a=3,b=4,d=0", s.All(7).Pairs());
        Assert.Equal("", s.All(1).Pairs());
        Throws(StatusCode.OutOfRange, EtcdErrors.FutureRevMessage, () => s.All(8));
        Assert.Equal("a=3,b=4,d=0", s.All(-3).Pairs()); // ≤ 0: current
    }

    [Fact]
    public void CompactedRevisions()
    {
        var s = Store();
        s.Compact(new CompactionRequest { Revision = 5 });
        Assert.Equal("a=3,b=1,c=2,d=0", s.All(5).Pairs()); // at the compaction revision: fine
        Throws(StatusCode.OutOfRange, EtcdErrors.CompactedMessage, () => s.All(4));
        Throws(StatusCode.OutOfRange, EtcdErrors.CompactedMessage, () => s.All(1));
    }

    [Theory]
    [InlineData(SortOrder.None, SortTarget.Key, "a,b,d")]
    [InlineData(SortOrder.Ascend, SortTarget.Key, "a,b,d")]
    [InlineData(SortOrder.Descend, SortTarget.Key, "d,b,a")]
    [InlineData(SortOrder.Ascend, SortTarget.Value, "d,a,b")]
    [InlineData(SortOrder.Descend, SortTarget.Value, "b,a,d")]
    [InlineData(SortOrder.None, SortTarget.Value, "d,a,b")] // NONE with a non-key target: ascending
    [InlineData(SortOrder.Ascend, SortTarget.Mod, "a,d,b")]
    [InlineData(SortOrder.Descend, SortTarget.Mod, "b,d,a")]
    [InlineData(SortOrder.Ascend, SortTarget.Create, "a,b,d")]
    [InlineData(SortOrder.Descend, SortTarget.Create, "d,b,a")]
    [InlineData(SortOrder.Ascend, SortTarget.Version, "a,d,b")]   // ties keep key order
    [InlineData(SortOrder.Descend, SortTarget.Version, "b,a,d")]  // ties keep key order (as etcd)
    public void Sorting(SortOrder order, SortTarget target, string expected)
    {
        var r = Store().Range(new RangeRequest { Key = B("\0"), RangeEnd = B("\0"), SortOrder = order, SortTarget = target });
        Assert.Equal(expected, r.Keys());
    }

    [Fact]
    public void SortingWithLimitSortsEverythingFirst()
    {
        var r = Store().Range(new RangeRequest { Key = B("\0"), RangeEnd = B("\0"), SortOrder = SortOrder.Descend, SortTarget = SortTarget.Mod, Limit = 1 });
        Assert.Equal("b", r.Keys());
        Assert.True(r.More);
        Assert.Equal(3, r.Count);
    }

    [Fact]
    public void SortTargetWithoutOrderSortsOnlyTheFirstLimitPlusOne()
    {
        // etcd 3.4.23: s3, s2, s1 written in that order; limit 1, target MOD, order NONE → s2.
        var s = new KvStore();
        s.Put("s3", "v");
        s.Put("s2", "v");
        s.Put("s1", "v");
        var r = s.Range(new RangeRequest { Key = B("s"), RangeEnd = B("t"), Limit = 1, SortTarget = SortTarget.Mod });
        Assert.Equal("s2", r.Keys());
        Assert.True(r.More);
        r = s.Range(new RangeRequest { Key = B("s"), RangeEnd = B("t"), Limit = 1, SortTarget = SortTarget.Mod, SortOrder = SortOrder.Ascend });
        Assert.Equal("s3", r.Keys());
    }

    [Fact]
    public void KeysOnlyAndCountOnly()
    {
        var s = Store();
        var r = s.Range(new RangeRequest { Key = B("a"), RangeEnd = B("c"), KeysOnly = true });
        Assert.Equal("a,b", r.Keys());
        Assert.All(r.Kvs, kv => Assert.True(kv.Value.IsEmpty));
        Assert.Equal(6, r.Kvs[1].ModRevision);
        Assert.Equal("4", S(s.Get("b").Kvs[0].Value)); // the stored value is untouched

        r = s.Range(new RangeRequest { Key = B("\0"), RangeEnd = B("\0"), CountOnly = true, Limit = 1 });
        Assert.Empty(r.Kvs);
        Assert.Equal(3, r.Count);
        Assert.False(r.More);
    }

    [Fact]
    public void RevisionFiltersPruneButDoNotChangeCount()
    {
        var s = Store();
        RangeResponse Q(long minMod = 0, long maxMod = 0, long minCreate = 0, long maxCreate = 0, long limit = 0) =>
            s.Range(new RangeRequest
            {
                Key = B("\0"), RangeEnd = B("\0"), Limit = limit,
                MinModRevision = minMod, MaxModRevision = maxMod, MinCreateRevision = minCreate, MaxCreateRevision = maxCreate,
            });
        Assert.Equal("b,d", Q(minMod: 5).Keys());
        Assert.Equal(3, Q(minMod: 5).Count);
        Assert.Equal("a,d", Q(maxMod: 5).Keys());
        Assert.Equal("b,d", Q(minCreate: 3).Keys());
        Assert.Equal("a,b", Q(maxCreate: 3).Keys());
        Assert.Equal("b", Q(minCreate: 3, maxCreate: 3).Keys());
        var limited = Q(minMod: 3, limit: 1);
        Assert.Equal("b", limited.Keys());
        Assert.True(limited.More);
    }

    [Fact]
    public void ReturnedValuesAreSharedButTheStoreIsNotAffectedByKeysOnlyCopies()
    {
        var s = Store();
        Assert.Same(s.Get("a").Kvs[0], s.Get("a").Kvs[0]);
        Assert.Same(s.Get("a").Kvs[0], s.Get(B("a").Span, 0));
    }
}
