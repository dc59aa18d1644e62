using Cairn.Protocol;
using Etcdserverpb;
using Google.Protobuf;
using Mvccpb;
using static Cairn.Mvcc.Tests.TestUtil;
using Result = Etcdserverpb.Compare.Types.CompareResult;
using Target = Etcdserverpb.Compare.Types.CompareTarget;

namespace Cairn.Mvcc.Tests;

public sealed class TxnTests
{
    /// <summary>k: create 2, mod 3, version 2, value "m", lease 10.</summary>
    private static KvStore Store()
    {
        var s = new KvStore();
        s.Put("k", "a");
        s.Put("k", "m", lease: 10);
        return s;
    }

    private static Compare Cmp(string key, Target target, Result result, long n = 0, string? value = null, string end = "")
    {
        var c = new Compare { Key = B(key), Target = target, Result = result, RangeEnd = B(end) };
        switch (target)
        {
            case Target.Version: c.Version = n; break;
            case Target.Create: c.CreateRevision = n; break;
            case Target.Mod: c.ModRevision = n; break;
            case Target.Lease: c.Lease = n; break;
            case Target.Value: c.Value = B(value ?? ""); break;
        }
        return c;
    }

    private static bool Eval(KvStore s, params Compare[] compares)
    {
        var t = new TxnRequest();
        t.Compare.AddRange(compares);
        return s.Txn(t).Succeeded;
    }

    [Theory]
    // target, result, operand, expected against k (version 2, create 2, mod 3, lease 10, value "m")
    [InlineData(Target.Version, Result.Equal, 2, null, true)]
    [InlineData(Target.Version, Result.Equal, 1, null, false)]
    [InlineData(Target.Version, Result.Greater, 1, null, true)]
    [InlineData(Target.Version, Result.Greater, 2, null, false)]
    [InlineData(Target.Version, Result.Less, 3, null, true)]
    [InlineData(Target.Version, Result.Less, 2, null, false)]
    [InlineData(Target.Version, Result.NotEqual, 2, null, false)]
    [InlineData(Target.Version, Result.NotEqual, 5, null, true)]
    [InlineData(Target.Create, Result.Equal, 2, null, true)]
    [InlineData(Target.Create, Result.Greater, 1, null, true)]
    [InlineData(Target.Create, Result.Less, 2, null, false)]
    [InlineData(Target.Create, Result.NotEqual, 2, null, false)]
    [InlineData(Target.Mod, Result.Equal, 3, null, true)]
    [InlineData(Target.Mod, Result.Greater, 3, null, false)]
    [InlineData(Target.Mod, Result.Less, 4, null, true)]
    [InlineData(Target.Mod, Result.NotEqual, 2, null, true)]
    [InlineData(Target.Lease, Result.Equal, 10, null, true)]
    [InlineData(Target.Lease, Result.Greater, 9, null, true)]
    [InlineData(Target.Lease, Result.Less, 10, null, false)]
    [InlineData(Target.Lease, Result.NotEqual, 0, null, true)]
    [InlineData(Target.Value, Result.Equal, 0, "m", true)]
    [InlineData(Target.Value, Result.Equal, 0, "n", false)]
    [InlineData(Target.Value, Result.Greater, 0, "l", true)]
    [InlineData(Target.Value, Result.Greater, 0, "ma", false)]
    [InlineData(Target.Value, Result.Less, 0, "ma", true)]
    [InlineData(Target.Value, Result.NotEqual, 0, "", true)]
    public void CompareTargetsAndResults(Target target, Result result, long n, string? value, bool expected)
    {
        Assert.Equal(expected, Eval(Store(), Cmp("k", target, result, n, value)));
    }

    [Theory]
    [InlineData(Target.Version, Result.Equal, 0, true)]
    [InlineData(Target.Create, Result.Equal, 0, true)]
    [InlineData(Target.Mod, Result.Equal, 0, true)]
    [InlineData(Target.Lease, Result.Equal, 0, true)]
    [InlineData(Target.Version, Result.Less, 1, true)]
    [InlineData(Target.Mod, Result.Greater, 0, false)]
    [InlineData(Target.Value, Result.Equal, 0, false)]    // a value compare on a missing key always fails
    [InlineData(Target.Value, Result.NotEqual, 0, false)]
    public void MissingKeyComparesAsZero(Target target, Result result, long n, bool expected)
    {
        Assert.Equal(expected, Eval(Store(), Cmp("absent", target, result, n, target == Target.Value ? "" : null)));
    }

    [Fact]
    public void DeletedKeyIsMissing()
    {
        var s = Store();
        s.Delete("k");
        Assert.True(Eval(s, Cmp("k", Target.Version, Result.Equal, 0)));
        Assert.False(Eval(s, Cmp("k", Target.Value, Result.Equal, value: "m")));
    }

    [Fact]
    public void UnionMemberNotMatchingTheTargetComparesAgainstZero()
    {
        var s = Store();
        // target VERSION but the mod_revision member is set: etcd compares version with 0.
        var c = new Compare { Key = B("k"), Target = Target.Version, Result = Result.Greater, ModRevision = 100 };
        Assert.True(Eval(s, c));
        c = new Compare { Key = B("k"), Target = Target.Value, Result = Result.Greater, Version = 1 };
        Assert.True(Eval(s, c)); // "m" > ""
    }

    [Fact]
    public void RangeComparesNeedEveryKey()
    {
        var s = new KvStore();
        s.Put("p/a", "1");
        s.Put("p/b", "1");
        s.Put("q", "2");
        Assert.True(Eval(s, Cmp("p/", Target.Value, Result.Equal, value: "1", end: "p0")));
        s.Put("p/c", "2");
        Assert.False(Eval(s, Cmp("p/", Target.Value, Result.Equal, value: "1", end: "p0")));
        Assert.True(Eval(s, Cmp("p/", Target.Create, Result.Less, 6, end: "p0")));
        Assert.True(Eval(s, Cmp("p/", Target.Mod, Result.Greater, 0, end: "\0")));      // all keys ≥ "p/"
        Assert.True(Eval(s, Cmp("x", Target.Version, Result.Equal, 0, end: "y")));      // empty range: missing
        Assert.False(Eval(s, Cmp("x", Target.Value, Result.Equal, value: "", end: "y")));
    }

    [Fact]
    public void AllComparesMustHold()
    {
        var s = Store();
        Assert.True(Eval(s, Cmp("k", Target.Version, Result.Equal, 2), Cmp("k", Target.Lease, Result.Equal, 10)));
        Assert.False(Eval(s, Cmp("k", Target.Version, Result.Equal, 2), Cmp("k", Target.Lease, Result.Equal, 11)));
        Assert.True(Eval(s)); // no compare: success
    }

    [Fact]
    public void BranchesResponsesAndOneRevision()
    {
        var s = Store();
        var t = new TxnRequest
        {
            Compare = { Cmp("k", Target.Value, Result.Equal, value: "m") },
            Success = { Op(PutReq("x", "1")), Op(GetReq("x")), Op(PutReq("y", "2")), Op(DelReq("k")), Op(GetReq("\0", "\0")) },
            Failure = { Op(PutReq("z", "1")) },
        };
        var r = s.Txn(t);
        Assert.True(r.Succeeded);
        Assert.Equal(4, r.Header.Revision);
        Assert.Equal(4, s.Revision);
        Assert.Equal(5, r.Responses.Count);
        Assert.Equal(4, r.Responses[0].ResponsePut.Header.Revision);
        // reads see the txn's earlier writes, at the txn's revision
        Assert.Equal("x=1", r.Responses[1].ResponseRange.Pairs());
        Assert.Equal(4, r.Responses[1].ResponseRange.Header.Revision);
        Assert.Equal(1, r.Responses[3].ResponseDeleteRange.Deleted);
        Assert.Equal("x,y", r.Responses[4].ResponseRange.Keys());
        var xs = s.Get("x").Kvs[0];
        var ys = s.Get("y").Kvs[0];
        Assert.Equal(4, xs.ModRevision);
        Assert.Equal(4, ys.ModRevision);

        var events = new List<Event>();
        s.ReadEvents(4, 4, 0, events);
        Assert.Equal(["PUT x", "PUT y", "DELETE k"], events.Select(e => $"{e.Type.ToString().ToUpperInvariant()} {S(e.Kv.Key)}"));

        r = s.Txn(t);
        Assert.False(r.Succeeded);
        Assert.Equal(5, r.Header.Revision);
        Assert.NotNull(r.Responses.Single().ResponsePut);
    }

    [Fact]
    public void ReadBeforeWriteInATxnSeesTheOldRevision()
    {
        var s = Store();
        var r = s.Txn(new TxnRequest { Success = { Op(GetReq("k")), Op(PutReq("k", "z")), Op(GetReq("k")), Op(DelReq("nothing")) } });
        Assert.Equal(3, r.Responses[0].ResponseRange.Header.Revision);
        Assert.Equal("k=m", r.Responses[0].ResponseRange.Pairs());
        Assert.Equal("k=z", r.Responses[2].ResponseRange.Pairs());
        Assert.Equal(4, r.Responses[2].ResponseRange.Header.Revision);
        Assert.Equal(4, r.Responses[3].ResponseDeleteRange.Header.Revision); // after a change: the txn's revision
        // A delete of nothing before any change answers the old revision.
        r = s.Txn(new TxnRequest { Success = { Op(DelReq("nothing")), Op(PutReq("k", "y")) } });
        Assert.Equal(4, r.Responses[0].ResponseDeleteRange.Header.Revision);
        Assert.Equal(5, r.Responses[1].ResponsePut.Header.Revision);
    }

    [Fact]
    public void ATxnThatChangesNothingKeepsTheRevision()
    {
        var s = Store();
        var r = s.Txn(new TxnRequest { Success = { Op(GetReq("k")), Op(DelReq("absent")) } });
        Assert.Equal(3, r.Header.Revision);
        Assert.Equal(3, s.Revision);
        r = s.Txn(new TxnRequest { Compare = { Cmp("k", Target.Version, Result.Equal, 9) }, Success = { Op(PutReq("k", "x")) } });
        Assert.False(r.Succeeded);
        Assert.Equal(3, s.Revision);
    }

    [Fact]
    public void NestedTxnsComparesSeeTheStoreBeforeTheTxn()
    {
        // Verified against etcd 3.4.23: a nested compare does not see the outer txn's earlier put,
        // and a nested txn's response header is empty.
        var s = Store();
        var r = s.Txn(new TxnRequest
        {
            Success =
            {
                Op(PutReq("c", "1")),
                Op(new TxnRequest
                {
                    Compare = { Cmp("c", Target.Version, Result.Equal, 0) },
                    Success = { Op(GetReq("c")), Op(PutReq("d", "2")) },
                    Failure = { Op(GetReq("k")) },
                }),
            },
        });
        var nested = r.Responses[1].ResponseTxn;
        Assert.True(nested.Succeeded);
        Assert.Equal(new ResponseHeader(), nested.Header);
        Assert.Equal("c=1", nested.Responses[0].ResponseRange.Pairs());
        Assert.Equal(4, r.Header.Revision);
        Assert.Equal(4, s.Get("d").Kvs[0].ModRevision);
    }

    [Fact]
    public void ApplyTimeFailuresLeaveTheStoreUnchanged()
    {
        var s = new KvStore(new MvccOptions { LeaseExists = id => id == 10 });
        s.Put("k", "v");
        var before = Snapshot(s);
        var bytes = s.ApproximateBytes;

        // ignore_value on a missing key, after other writes of the same branch
        Throws(StatusCode.InvalidArgument, "etcdserver: key not found", () => s.Txn(new TxnRequest
        {
            Success = { Op(PutReq("a", "1")), Op(new PutRequest { Key = B("missing"), IgnoreValue = true }) },
        }));
        // unknown lease, in a nested txn
        Throws(StatusCode.NotFound, "etcdserver: requested lease not found", () => s.Txn(new TxnRequest
        {
            Success = { Op(DelReq("k")), Op(new TxnRequest { Success = { Op(new PutRequest { Key = B("b"), Lease = 99 }) } }) },
        }));
        // a read of a future revision
        Throws(StatusCode.OutOfRange, EtcdErrors.FutureRevMessage, () => s.Txn(new TxnRequest
        {
            Success = { Op(PutReq("a", "1")), Op(new RangeRequest { Key = B("a"), Revision = 3 }) },
        }));
        // key check comes before the range check (etcd checks all puts first)
        Throws(StatusCode.InvalidArgument, "etcdserver: key not found", () => s.Txn(new TxnRequest
        {
            Success = { Op(new RangeRequest { Key = B("a"), Revision = 30 }), Op(new PutRequest { Key = B("missing"), IgnoreLease = true }) },
        }));
        // the failure branch is checked when it is the one taken
        Throws(StatusCode.NotFound, "etcdserver: requested lease not found", () => s.Txn(new TxnRequest
        {
            Compare = { Cmp("k", Target.Version, Result.Equal, 5) },
            Success = { Op(PutReq("ok", "1")) },
            Failure = { Op(new PutRequest { Key = B("b"), Lease = 99 }) },
        }));
        Assert.Equal(before, Snapshot(s));
        Assert.Equal(bytes, s.ApproximateBytes);
        Assert.Equal(2, s.Revision);

        // ... and not when it is not
        Assert.True(s.Txn(new TxnRequest
        {
            Compare = { Cmp("k", Target.Version, Result.Equal, 1) },
            Success = { Op(PutReq("ok", "1")) },
            Failure = { Op(new PutRequest { Key = B("b"), Lease = 99 }) },
        }).Succeeded);
        Assert.Equal(3, s.Revision);
    }

    [Fact]
    public void AnApplyTimeFailureAfterWritesRollsBackEverything()
    {
        // etcd accepts deleting ["0", "\0") and then putting k with ignore_value (its duplicate-key
        // check cannot see the "\0" range end), checks ignore_value against the store before the
        // txn, then panics at apply. Here it fails cleanly and nothing changes.
        var s = new KvStore();
        s.Put("k", "v");
        var before = Snapshot(s);
        var t = new TxnRequest
        {
            Success = { Op(DelReq("0", "\0")), Op(new PutRequest { Key = B("k"), IgnoreValue = true }), Op(PutReq("new", "x")) },
        };
        RequestValidation.CheckTxn(t, 128);
        Throws(StatusCode.InvalidArgument, "etcdserver: key not found", () => s.Txn(t));
        Assert.Equal(before, Snapshot(s));
        Assert.Null(s.IndexOf(B("new").Span));
        var events = new List<Event>();
        Assert.Equal(3, s.ReadEvents(2, 10, 0, events));
        Assert.Single(events);
    }

    [Fact]
    public void DeleteAndPutOfOneKeyInOneTxn()
    {
        // etcd 3.4.23: txn [delete "0".."\0", put b] with b existing → DELETE b then PUT b (version 1)
        // in one revision.
        var s = new KvStore();
        s.Put("b", "1");
        var r = s.Txn(new TxnRequest { Success = { Op(DelReq("0", "\0")), Op(PutReq("b", "2")) } });
        Assert.Equal(3, r.Header.Revision);
        var kv = s.Get("b").Kvs[0];
        Assert.Equal((3L, 3L, 1L, "2"), (kv.CreateRevision, kv.ModRevision, kv.Version, S(kv.Value)));
        var events = new List<Event>();
        s.ReadEvents(3, 3, 0, events);
        Assert.Equal([Event.Types.EventType.Delete, Event.Types.EventType.Put], events.Select(e => e.Type));
        Assert.Equal("b=1", s.All(2).Pairs());
        s.Compact(new CompactionRequest { Revision = 3 });
        Assert.Equal("b=2", s.All(3).Pairs());
        events.Clear();
        s.ReadEvents(3, 3, 0, events);
        Assert.Equal([Event.Types.EventType.Put], events.Select(e => e.Type));
    }
}
