using Cairn.Protocol;
using Etcdserverpb;
using static Cairn.Mvcc.Tests.TestUtil;

namespace Cairn.Mvcc.Tests;

/// <summary>RequestValidation: etcd's API-layer checks, with their exact messages and codes.</summary>
public sealed class ValidationTests
{
    private const string Duplicate = "etcdserver: duplicate key given in txn request";

    private static void Dup(TxnRequest t) => Throws(StatusCode.InvalidArgument, Duplicate, () => RequestValidation.CheckTxn(t, 128));

    private static void Ok(TxnRequest t) => RequestValidation.CheckTxn(t, 128);

    [Fact]
    public void EmptyKeys()
    {
        const string msg = "etcdserver: key is not provided";
        Throws(StatusCode.InvalidArgument, msg, () => RequestValidation.CheckRange(new RangeRequest()));
        Throws(StatusCode.InvalidArgument, msg, () => RequestValidation.CheckPut(new PutRequest { Value = B("v") }));
        Throws(StatusCode.InvalidArgument, msg, () => RequestValidation.CheckDeleteRange(new DeleteRangeRequest { RangeEnd = B("z") }));
        Throws(StatusCode.InvalidArgument, msg, () => RequestValidation.CheckTxn(new TxnRequest { Compare = { new Compare() } }, 128));
        Throws(StatusCode.InvalidArgument, msg, () => RequestValidation.CheckTxn(new TxnRequest { Failure = { Op(new RangeRequest()) } }, 128));
        RequestValidation.CheckRange(GetReq("a"));
        RequestValidation.CheckDeleteRange(DelReq("a"));
    }

    [Fact]
    public void PutFlags()
    {
        Throws(StatusCode.InvalidArgument, "etcdserver: value is provided",
            () => RequestValidation.CheckPut(new PutRequest { Key = B("k"), Value = B("v"), IgnoreValue = true }));
        Throws(StatusCode.InvalidArgument, "etcdserver: lease is provided",
            () => RequestValidation.CheckPut(new PutRequest { Key = B("k"), Lease = 5, IgnoreLease = true }));
        RequestValidation.CheckPut(new PutRequest { Key = B("k"), IgnoreValue = true, IgnoreLease = true });
        // inside a txn too
        Throws(StatusCode.InvalidArgument, "etcdserver: value is provided",
            () => Ok(new TxnRequest { Success = { Op(new PutRequest { Key = B("k"), Value = B("v"), IgnoreValue = true }) } }));
    }

    [Fact]
    public void TooManyOps()
    {
        const string msg = "etcdserver: too many operations in txn request";
        var t = new TxnRequest();
        for (int i = 0; i < 4; i++)
        {
            t.Success.Add(Op(PutReq("k" + i, "v")));
        }
        RequestValidation.CheckTxn(t, 4);
        Throws(StatusCode.InvalidArgument, msg, () => RequestValidation.CheckTxn(t, 3));
        var compares = new TxnRequest();
        for (int i = 0; i < 4; i++)
        {
            compares.Compare.Add(new Compare { Key = B("k") });
        }
        Throws(StatusCode.InvalidArgument, msg, () => RequestValidation.CheckTxn(compares, 3));
        var failures = new TxnRequest { Failure = { Op(GetReq("a")), Op(GetReq("b")) } };
        Throws(StatusCode.InvalidArgument, msg, () => RequestValidation.CheckTxn(failures, 1));

        // A nested txn gets what its parent leaves: max - (parent's largest count).
        var nested = new TxnRequest { Success = { Op(GetReq("a")), Op(new TxnRequest { Success = { Op(GetReq("x")), Op(GetReq("y")) } }) } };
        RequestValidation.CheckTxn(nested, 4);
        Throws(StatusCode.InvalidArgument, msg, () => RequestValidation.CheckTxn(nested, 3));
    }

    [Fact]
    public void EmptyOpIsKeyNotFound()
    {
        // etcd 3.4.23 answers an empty RequestOp with "key not found".
        Throws(StatusCode.InvalidArgument, "etcdserver: key not found", () => Ok(new TxnRequest { Success = { new RequestOp() } }));
    }

    [Fact]
    public void DuplicatePuts()
    {
        Dup(new TxnRequest { Success = { Op(PutReq("a", "1")), Op(PutReq("a", "2")) } });
        Dup(new TxnRequest { Failure = { Op(PutReq("a", "1")), Op(PutReq("a", "2")) } });
        Ok(new TxnRequest { Success = { Op(PutReq("a", "1")) }, Failure = { Op(PutReq("a", "2")) } });
        Ok(new TxnRequest { Success = { Op(PutReq("a", "1")), Op(PutReq("b", "2")), Op(GetReq("a")) } });
    }

    [Fact]
    public void PutInsideADelete()
    {
        Dup(new TxnRequest { Success = { Op(DelReq("a")), Op(PutReq("a", "1")) } });
        Dup(new TxnRequest { Success = { Op(PutReq("b", "1")), Op(DelReq("a", "c")) } });
        Ok(new TxnRequest { Success = { Op(PutReq("c", "1")), Op(DelReq("a", "c")) } });     // end is exclusive
        Ok(new TxnRequest { Success = { Op(PutReq("ab", "1")), Op(DelReq("a")) } });
        // Overlapping deletes are fine (etcd 3.4.23 applies them).
        Ok(new TxnRequest { Success = { Op(DelReq("a", "z")), Op(DelReq("b")) } });
        // A "\0" range end is below every key when compared as a string: etcd 3.4.23 accepts this.
        Ok(new TxnRequest { Success = { Op(DelReq("a", "\0")), Op(PutReq("a", "1")) } });
    }

    [Fact]
    public void NestedTxns()
    {
        // put in the parent and in a nested txn
        Dup(new TxnRequest { Success = { Op(PutReq("x", "1")), Op(new TxnRequest { Success = { Op(PutReq("x", "2")) } }) } });
        // ... in the nested failure branch
        Dup(new TxnRequest { Success = { Op(PutReq("x", "1")), Op(new TxnRequest { Failure = { Op(PutReq("x", "2")) } }) } });
        // then and else of one nested txn may write the same key
        Ok(new TxnRequest { Success = { Op(new TxnRequest { Success = { Op(PutReq("x", "2")) }, Failure = { Op(PutReq("x", "3")) } }) } });
        // two nested txns may not
        Dup(new TxnRequest
        {
            Success =
            {
                Op(new TxnRequest { Success = { Op(PutReq("x", "2")) } }),
                Op(new TxnRequest { Failure = { Op(PutReq("x", "3")) } }),
            },
        });
        // a parent delete covers nested puts
        Dup(new TxnRequest { Success = { Op(DelReq("a", "z")), Op(new TxnRequest { Success = { Op(PutReq("m", "2")) } }) } });
        // a nested delete covers the parent's puts
        Dup(new TxnRequest { Success = { Op(new TxnRequest { Failure = { Op(DelReq("m")) } }), Op(PutReq("m", "2")) } });
        // deeper nesting
        Dup(new TxnRequest
        {
            Success =
            {
                Op(PutReq("deep", "0")),
                Op(new TxnRequest { Success = { Op(new TxnRequest { Success = { Op(PutReq("deep", "1")) } }) } }),
            },
        });
        // nested txns are themselves checked
        Dup(new TxnRequest { Success = { Op(new TxnRequest { Success = { Op(PutReq("d", "1")), Op(PutReq("d", "2")) } }) } });
    }
}
