using Cairn.JepsenLite.Checkers;
using Cairn.JepsenLite.History;

namespace Cairn.JepsenLite.Tests;

/// <summary>The append checker accepts serializable, real-time ordered histories and rejects each kind of anomaly.</summary>
public class AppendCheckerTests
{
    private static CheckResult Check(H h) => AppendChecker.Check(h.Ops);

    private static void Invalid(H h, string expect)
    {
        var r = Check(h);
        Assert.True(r.Validity == Validity.Invalid, r.ToString());
        Assert.Contains(r.Problems, p => p.Contains(expect, StringComparison.Ordinal));
    }

    /// <summary>T1 appends a to x; T2 appends b to x and c to y; final x = a b, y = c.</summary>
    private static H Good() => new H()
        .Txn(1, 2, [H.R("x", ""), H.R("y", "")], H.A("x", "a", "a"))
        .Txn(2, 3, [H.R("x", "a"), H.R("y", "")], H.A("x", "b", "a b"), H.A("y", "b", "b"));

    [Fact]
    public void SerialHistoryIsValid()
    {
        var h = Good().TxnInv(3, H.R("x"), H.R("y")).TxnOk(3, false, 3, H.R("x", "a b"), H.R("y", "b"))
            .Final(3, H.Put("x", "a b", 3, 2, 2), H.Put("y", "b", 3, 3, 1));
        var r = Check(h);
        Assert.True(r.Validity == Validity.Valid, r.ToString());
    }

    [Fact]
    public void ConcurrentTxnsInEitherOrderAreValidAndUnknownAppendMayShowUp()
    {
        // T1 and T2 overlap; T2 is ordered first by the data. T3's outcome is unknown, and its element is there.
        var h = new H()
            .TxnInv(1, H.R("x"), H.A("x", "a", "b a"))
            .Txn(2, 2, [H.R("x", "")], H.A("x", "b", "b"))
            .TxnOk(1, true, 3, H.R("x", "b"), H.A("x", "a", "b a"))
            .TxnInv(3, H.R("x"), H.A("x", "c", "b a c")).TxnInfo(3)
            .Final(4, H.Put("x", "b a c", 4, 2, 3));
        var r = Check(h);
        Assert.True(r.Validity == Validity.Valid, r.ToString());
    }

    [Fact]
    public void NonPrefixReadIsRejected()
    {
        var h = Good().TxnInv(3, H.R("x")).TxnOk(3, false, 3, H.R("x", "b")).Final(3, H.Put("x", "a b", 3, 2, 2), H.Put("y", "b", 3, 3, 1));
        Invalid(h, "not a prefix");
    }

    [Fact]
    public void LostAcknowledgedAppendIsRejected()
    {
        var h = Good().Final(3, H.Put("x", "a", 2, 2, 1), H.Put("y", "b", 3, 3, 1));
        Invalid(h, "acknowledged append of b to x is lost");
    }

    [Fact]
    public void DuplicateElementIsRejected()
    {
        Invalid(Good().Final(4, H.Put("x", "a b a", 4, 2, 3), H.Put("y", "b", 3, 3, 1)), "appears 2 times");
        Invalid(Good().TxnInv(3, H.R("x")).TxnOk(3, false, 3, H.R("x", "a a")), "duplicate");
    }

    [Fact]
    public void ElementNobodyAppendedIsRejected()
    {
        var h = Good().TxnInv(3, H.R("x"), H.A("x", "z", "a b z")).TxnOk(3, false, 3, H.R("x", "a b"))
            .Final(4, H.Put("x", "a b z", 4, 2, 3), H.Put("y", "b", 3, 3, 1));
        Invalid(h, "no transaction that may have succeeded");
    }

    [Fact]
    public void TxnsObservingEachOthersWritesAreRejected()
    {
        // Concurrent T1 and T2: T1 appends a to x and saw T2's b in y; T2 appends b to y and saw T1's a in x.
        var h = new H()
            .TxnInv(1, H.R("x"), H.R("y"), H.A("x", "a", "a"))
            .TxnInv(2, H.R("x"), H.R("y"), H.A("y", "b", "b"))
            .TxnOk(1, true, 2, H.R("x", ""), H.R("y", "b"), H.A("x", "a", "a"))
            .TxnOk(2, true, 3, H.R("x", "a"), H.R("y", ""), H.A("y", "b", "b"))
            .Final(3, H.Put("x", "a", 2, 2, 1), H.Put("y", "b", 3, 3, 1));
        Invalid(h, "dependency cycle among 2 transactions");
    }

    [Fact]
    public void ReadsMixingTwoRevisionsAreRejected()
    {
        // T2 wrote x and y together; T3 saw its x but not its y.
        var h = Good().TxnInv(3, H.R("x"), H.R("y")).TxnOk(3, false, 3, H.R("x", "a b"), H.R("y", ""))
            .Final(3, H.Put("x", "a b", 3, 2, 2), H.Put("y", "b", 3, 3, 1));
        Invalid(h, "dependency cycle");
    }

    [Fact]
    public void StaleReadAfterLaterTxnCompletedIsRejected()
    {
        // T3 starts after T2 completed but does not see T2's append to x.
        var h = Good().TxnInv(3, H.R("x")).TxnOk(3, false, 2, H.R("x", "a")).Final(3, H.Put("x", "a b", 3, 2, 2), H.Put("y", "b", 3, 3, 1));
        var r = Check(h);
        Assert.True(r.Validity == Validity.Invalid, r.ToString());
        Assert.Contains(r.Problems, p => p.Contains("—rt→", StringComparison.Ordinal) && p.Contains("—rw x→", StringComparison.Ordinal));
        // The same read while T2 was still running is fine.
        var concurrent = new H()
            .Txn(1, 2, [H.R("x", ""), H.R("y", "")], H.A("x", "a", "a"))
            .TxnInv(2, H.R("x"), H.R("y"), H.A("x", "b", "a b"), H.A("y", "b", "b"))
            .TxnInv(3, H.R("x")).TxnOk(3, false, 2, H.R("x", "a"))
            .TxnOk(2, true, 3, H.R("x", "a"), H.R("y", ""), H.A("x", "b", "a b"), H.A("y", "b", "b"))
            .Final(3, H.Put("x", "a b", 3, 2, 2), H.Put("y", "b", 3, 3, 1));
        Assert.True(Check(concurrent).Validity == Validity.Valid, Check(concurrent).ToString());
    }

    [Fact]
    public void SplitTransactionIsRejectedAgainstTheCommittedHistory()
    {
        // T2's two puts were committed at different revisions.
        var h = Good()
            .Archive(H.Put("x", "a", 2, 2, 1), H.Put("x", "a b", 3, 2, 2, "a", true), H.Put("y", "b", 4, 4, 1))
            .Final(4, H.Put("x", "a b", 3, 2, 2), H.Put("y", "b", 4, 4, 1));
        var committed = CommittedHistory.FromHistory(h.Ops);
        Assert.Empty(committed.Problems);
        var r = AppendChecker.Check(h.Ops, committed);
        Assert.True(r.Validity == Validity.Invalid, r.ToString());
        Assert.Contains(r.Problems, p => p.Contains("lost or split", StringComparison.Ordinal));
    }
}
