using Etcdserverpb;
using Google.Protobuf;
using static Cairn.Mvcc.Tests.ReferenceModel;

namespace Cairn.Mvcc.Tests;

/// <summary>Random requests over a small key space, shared by the property tests.</summary>
internal sealed class RandomOps(Random rng)
{
    private static readonly string[] Keys = ["a", "ab", "abc", "b", "b\u0001", "c", "d", "e", "z"];
    private static readonly string[] Ends = ["", "", "", "\0", "b", "c", "e", "zz", "a", "ab\u00ff"];

    public string Key() => Keys[rng.Next(Keys.Length)];

    public (ByteString Key, ByteString End) KeyRange()
    {
        int kind = rng.Next(10);
        if (kind < 4) return (B(Key()), ByteString.Empty);
        if (kind == 4) return (B("\0"), B("\0"));
        if (kind == 5) { var k = Key(); return (B(k), B(Prefix(k))); }
        return (B(Key()), B(Ends[rng.Next(Ends.Length)]));
    }

    private static string Prefix(string k) => k[..^1] + (char)(k[^1] + 1);

    public PutRequest Put()
    {
        var p = new PutRequest { Key = B(Key()), Value = B(rng.Next(4) == 0 ? "" : "v" + rng.Next(50)), PrevKv = rng.Next(2) == 0 };
        int f = rng.Next(12);
        if (f == 0) { p.IgnoreValue = true; p.Value = ByteString.Empty; }
        else if (f == 1) { p.IgnoreLease = true; }
        else if (f < 5) { p.Lease = rng.Next(3) switch { 0 => 5, 1 => 6, _ => 7 }; }
        return p;
    }

    public DeleteRangeRequest Delete()
    {
        var (k, e) = KeyRange();
        return new DeleteRangeRequest { Key = k, RangeEnd = e, PrevKv = rng.Next(2) == 0 };
    }

    public RangeRequest Range(long current, long compact)
    {
        var (k, e) = KeyRange();
        var r = new RangeRequest { Key = k, RangeEnd = e };
        if (rng.Next(3) == 0) r.Limit = rng.Next(-1, 4);
        if (rng.Next(3) == 0) r.Revision = rng.Next(4) == 0 ? current + rng.Next(0, 2) : Math.Max(0, compact) + rng.Next(-1, (int)Math.Max(1, current - compact) + 1);
        if (rng.Next(3) == 0) r.SortOrder = (RangeRequest.Types.SortOrder)rng.Next(3);
        if (rng.Next(3) == 0) r.SortTarget = (RangeRequest.Types.SortTarget)rng.Next(5);
        if (rng.Next(6) == 0) r.KeysOnly = true;
        if (rng.Next(8) == 0) r.CountOnly = true;
        if (rng.Next(8) == 0) r.MinModRevision = rng.Next(1, (int)current + 1);
        if (rng.Next(8) == 0) r.MaxModRevision = rng.Next(1, (int)current + 1);
        if (rng.Next(8) == 0) r.MinCreateRevision = rng.Next(1, (int)current + 1);
        if (rng.Next(8) == 0) r.MaxCreateRevision = rng.Next(1, (int)current + 1);
        return r;
    }

    public Etcdserverpb.Compare Cmp(long current)
    {
        var (k, e) = rng.Next(4) == 0 ? KeyRange() : (B(Key()), ByteString.Empty);
        var c = new Etcdserverpb.Compare
        {
            Key = k,
            RangeEnd = e,
            Result = (Etcdserverpb.Compare.Types.CompareResult)rng.Next(4),
            Target = (Etcdserverpb.Compare.Types.CompareTarget)rng.Next(5),
        };
        switch (rng.Next(6))
        {
            case 0: c.Version = rng.Next(0, 4); break;
            case 1: c.CreateRevision = rng.Next(0, (int)current + 2); break;
            case 2: c.ModRevision = rng.Next(0, (int)current + 2); break;
            case 3: c.Value = B(rng.Next(3) == 0 ? "" : "v" + rng.Next(50)); break;
            case 4: c.Lease = rng.Next(3) == 0 ? 0 : 5; break;
            default:
                // the matching union member most of the time
                switch (c.Target)
                {
                    case Etcdserverpb.Compare.Types.CompareTarget.Version: c.Version = rng.Next(0, 4); break;
                    case Etcdserverpb.Compare.Types.CompareTarget.Create: c.CreateRevision = rng.Next(0, (int)current + 2); break;
                    case Etcdserverpb.Compare.Types.CompareTarget.Mod: c.ModRevision = rng.Next(0, (int)current + 2); break;
                    case Etcdserverpb.Compare.Types.CompareTarget.Value: c.Value = B("v" + rng.Next(50)); break;
                    default: c.Lease = 5; break;
                }
                break;
        }
        return c;
    }

    public TxnRequest Txn(long current, long compact, int depth = 0)
    {
        var t = new TxnRequest();
        for (int i = rng.Next(3); i > 0; i--) t.Compare.Add(Cmp(current));
        for (int i = rng.Next(4); i > 0; i--) t.Success.Add(Op(current, compact, depth));
        for (int i = rng.Next(3); i > 0; i--) t.Failure.Add(Op(current, compact, depth));
        return t;
    }

    private RequestOp Op(long current, long compact, int depth)
    {
        int k = rng.Next(depth < 2 ? 10 : 9);
        if (k < 4) return new RequestOp { RequestPut = Put() };
        if (k < 6) return new RequestOp { RequestDeleteRange = Delete() };
        if (k < 9) return new RequestOp { RequestRange = Range(current, compact) };
        return new RequestOp { RequestTxn = Txn(current, compact, depth + 1) };
    }
}
