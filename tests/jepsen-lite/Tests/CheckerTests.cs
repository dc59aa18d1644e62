using Cairn.JepsenLite.Cluster;
using Cairn.JepsenLite.Checkers;
using Cairn.JepsenLite.History;

namespace Cairn.JepsenLite.Tests;

public class LinearizabilityTests
{
    private static Validity Lin(H h) => LinearizabilityChecker.Check(h.Ops).Validity;

    [Fact]
    public void SequentialHistoryIsLinearizable()
    {
        var h = new H()
            .Inv(1, "write", "x", "a").Ok(1, "write", "x", rev: 2)
            .Inv(2, "read", "x").Ok(2, "read", "x", "a", 2)
            .Inv(1, "cas", "x", "b", "a").Ok(1, "cas", "x", rev: 3, succ: true)
            .Inv(2, "cas", "x", "c", "a").Ok(2, "cas", "x", rev: 3, succ: false)
            .Inv(2, "read", "x").Ok(2, "read", "x", "b", 3);
        Assert.Equal(Validity.Valid, Lin(h));
    }

    [Fact]
    public void ConcurrentReadMaySeeEitherValue()
    {
        var h = new H()
            .Inv(1, "write", "x", "a").Ok(1, "write", "x", rev: 2)
            .Inv(1, "write", "x", "b")
            .Inv(2, "read", "x").Ok(2, "read", "x", "a")
            .Inv(3, "read", "x").Ok(3, "read", "x", "b")
            .Ok(1, "write", "x", rev: 3);
        Assert.Equal(Validity.Valid, Lin(h));
    }

    [Fact]
    public void StaleReadIsRejected()
    {
        var h = new H()
            .Inv(1, "write", "x", "a").Ok(1, "write", "x", rev: 2)
            .Inv(1, "write", "x", "b").Ok(1, "write", "x", rev: 3)
            .Inv(2, "read", "x").Ok(2, "read", "x", "a");
        var r = LinearizabilityChecker.Check(h.Ops);
        Assert.Equal(Validity.Invalid, r.Validity);
        Assert.Contains("key x", r.Problems[0]);
    }

    [Fact]
    public void ReadGoingBackAfterSeeingNewValueIsRejected()
    {
        // Write concurrent with two reads: once a read saw b, a later read cannot see a.
        var h = new H()
            .Inv(1, "write", "x", "a").Ok(1, "write", "x")
            .Inv(1, "write", "x", "b")
            .Inv(2, "read", "x").Ok(2, "read", "x", "b")
            .Inv(3, "read", "x").Ok(3, "read", "x", "a")
            .Ok(1, "write", "x");
        Assert.Equal(Validity.Invalid, Lin(h));
    }

    [Fact]
    public void UnknownWriteMayOrMayNotHaveHappened()
    {
        var took = new H()
            .Inv(1, "write", "x", "a").Info(1, "write", "x")
            .Inv(2, "read", "x").Ok(2, "read", "x", "a");
        var didNot = new H()
            .Inv(1, "write", "x", "a").Info(1, "write", "x")
            .Inv(2, "read", "x").Ok(2, "read", "x", null);
        var lateEffect = new H()
            .Inv(1, "write", "x", "a").Info(1, "write", "x")
            .Inv(2, "read", "x").Ok(2, "read", "x", null)
            .Inv(2, "read", "x").Ok(2, "read", "x", "a");
        Assert.Equal(Validity.Valid, Lin(took));
        Assert.Equal(Validity.Valid, Lin(didNot));
        Assert.Equal(Validity.Valid, Lin(lateEffect));
    }

    [Fact]
    public void UnknownWriteKnownNotCommittedIsDropped()
    {
        var h = new H()
            .Inv(1, "write", "x", "a").Info(1, "write", "x")
            .Inv(2, "read", "x").Ok(2, "read", "x", "a");
        Assert.Equal(Validity.Valid, LinearizabilityChecker.Check(h.Ops).Validity);
        Assert.Equal(Validity.Invalid, LinearizabilityChecker.Check(h.Ops, neverHappened: op => op.Value == "a").Validity);
    }

    [Fact]
    public void FailedWriteMustNotBeVisible()
    {
        var h = new H()
            .Inv(1, "write", "x", "a").Fail(1, "write", "x")
            .Inv(2, "read", "x").Ok(2, "read", "x", "a");
        Assert.Equal(Validity.Invalid, Lin(h));
    }

    [Fact]
    public void LostWriteIsRejected()
    {
        var h = new H()
            .Inv(1, "write", "x", "a").Ok(1, "write", "x", rev: 2)
            .Inv(2, "read", "x").Ok(2, "read", "x", null);
        Assert.Equal(Validity.Invalid, Lin(h));
    }

    [Fact]
    public void CasFailureThatShouldHaveSucceededIsRejected()
    {
        var h = new H()
            .Inv(1, "write", "x", "a").Ok(1, "write", "x")
            .Inv(2, "cas", "x", "b", "a").Ok(2, "cas", "x", succ: false);
        Assert.Equal(Validity.Invalid, Lin(h));
    }

    [Fact]
    public void TwoSuccessfulCasFromSameValueAreRejected()
    {
        var h = new H()
            .Inv(1, "write", "x", "a").Ok(1, "write", "x")
            .Inv(2, "cas", "x", "b", "a").Inv(3, "cas", "x", "c", "a")
            .Ok(2, "cas", "x", succ: true).Ok(3, "cas", "x", succ: true);
        Assert.Equal(Validity.Invalid, Lin(h));
    }

    [Fact]
    public void KeysArePartitioned()
    {
        var h = new H()
            .Inv(1, "write", "x", "a").Inv(2, "write", "y", "b")
            .Ok(1, "write", "x").Ok(2, "write", "y")
            .Inv(1, "read", "y").Ok(1, "read", "y", "b")
            .Inv(2, "read", "x").Ok(2, "read", "x", "a");
        Assert.Equal(Validity.Valid, Lin(h));
    }

    [Fact]
    public void BudgetExceededIsUnknownNotValid()
    {
        var h = new H();
        // Many concurrent writes then an impossible read: the search must explore many orders.
        for (int p = 0; p < 14; p++) h.Inv(p, "write", "x", "v" + p);
        for (int p = 0; p < 14; p++) h.Ok(p, "write", "x");
        h.Inv(99, "read", "x").Ok(99, "read", "x", "nope");
        var r = LinearizabilityChecker.Check(h.Ops, stateBudgetPerKey: 50);
        Assert.Equal(Validity.Unknown, r.Validity);
        Assert.Equal(Validity.Invalid, LinearizabilityChecker.Check(h.Ops).Validity);
    }

    [Fact]
    public void ManyConcurrentOpsStayTractable()
    {
        var h = new H();
        var rnd = new Random(7);
        string? cur = null;
        for (int i = 0; i < 400; i++)
        {
            // Overlapping write/read pairs that are sequentially consistent with the real order of effects.
            var v = "v" + i;
            h.Inv(1, "write", "x", v).Inv(2, "read", "x");
            cur = v;
            h.Ok(1, "write", "x").Ok(2, "read", "x", rnd.Next(2) == 0 ? cur : v);
        }
        Assert.Equal(Validity.Valid, Lin(h));
    }

    [Fact]
    public void HistoryRoundTripsThroughJsonLines()
    {
        var h = new H().Inv(1, "cas", "x", "b", "a").Ok(1, "cas", "x", rev: 4, succ: true).Archive(H.Put("x", "a", 2, 2, 1));
        var path = Path.GetTempFileName();
        try
        {
            HistoryFile.Write(path, h.Ops);
            var back = HistoryFile.Read(path);
            Assert.Equal(h.Ops.Select(HistoryFile.Serialize), back.Select(HistoryFile.Serialize));
            Assert.Contains("\"type\":\"invoke\"", File.ReadAllLines(path)[0]);
        }
        finally
        {
            File.Delete(path);
        }
    }
}

public class CommittedHistoryTests
{
    // Committed: rev2 put x=a, rev3 put x=b, rev4 put y=c, rev5 delete x.
    internal static H Good() => new H()
        .Inv(1, "write", "x", "a").Ok(1, "write", "x", rev: 2)
        .Inv(1, "write", "x", "b").Ok(1, "write", "x", rev: 3)
        .Inv(2, "write", "y", "c").Ok(2, "write", "y", rev: 4)
        .Inv(2, "read", "x").Ok(2, "read", "x", "b", 4, mod: 3)
        .Inv(1, "write", "x", null).Ok(1, "write", "x", rev: 5);

    internal static Ev[] Committed() =>
    [
        H.Put("x", "a", 2, 2, 1), H.Put("x", "b", 3, 2, 2, "a", true), H.Put("y", "c", 4, 4, 1), H.Del("x", 5, "b", true),
    ];

    private static List<CheckResult> All(H h) => Checker.CheckAll(h.Ops);

    [Fact]
    public void GoodHistoryPassesEveryChecker()
    {
        var h = Good().Archive(Committed()).Final(5, H.Put("y", "c", 4, 4, 1));
        var results = All(h);
        Assert.All(results, r => Assert.True(r.Validity == Validity.Valid, r.ToString()));
    }

    [Fact]
    public void AcknowledgedWriteMissingFromCommittedHistoryIsLost()
    {
        var h = Good().Inv(3, "write", "z", "q").Ok(3, "write", "z", rev: 5)
            .Archive(Committed()).Final(5, H.Put("y", "c", 4, 4, 1));
        var r = AckedWritesChecker.Check(h.Ops, CommittedHistory.FromHistory(h.Ops));
        Assert.Equal(Validity.Invalid, r.Validity);
        Assert.Contains("lost write", r.Problems[0]);
    }

    [Fact]
    public void InventedValueIsRejected()
    {
        var evs = Committed().Append(H.Put("y", "ghost", 6, 4, 2, "c", true)).ToArray();
        var h = Good().Archive(evs).Final(6, H.Put("y", "ghost", 6, 4, 2));
        var r = AckedWritesChecker.Check(h.Ops, CommittedHistory.FromHistory(h.Ops));
        Assert.Equal(Validity.Invalid, r.Validity);
    }

    [Fact]
    public void ArchiveGapAndWrongVersionAndFinalMismatchAreRejected()
    {
        var gap = new H().Archive(H.Put("x", "a", 2, 2, 1), H.Put("x", "b", 4, 2, 2, "a", true)).Final(4, H.Put("x", "b", 4, 2, 2));
        Assert.Equal(Validity.Invalid, CommittedHistory.FromHistory(gap.Ops).Result().Validity);
        var version = new H().Archive(H.Put("x", "a", 2, 2, 1), H.Put("x", "b", 3, 3, 1, "a", true)).Final(3, H.Put("x", "b", 3, 3, 1));
        Assert.Equal(Validity.Invalid, CommittedHistory.FromHistory(version.Ops).Result().Validity);
        var final = new H().Archive(H.Put("x", "a", 2, 2, 1)).Final(2, H.Put("x", "zzz", 2, 2, 1));
        Assert.Equal(Validity.Invalid, CommittedHistory.FromHistory(final.Ops).Result().Validity);
    }

    [Fact]
    public void RevisionGoingBackwardsIsRejected()
    {
        var h = new H()
            .Inv(1, "write", "x", "a").Ok(1, "write", "x", rev: 7)
            .Inv(2, "read", "x").Ok(2, "read", "x", "a", 6, mod: 5);
        var r = RevisionChecker.Check(h.Ops);
        Assert.Equal(Validity.Invalid, r.Validity);
        Assert.Contains("backwards", r.Problems[0]);
        var concurrent = new H().Inv(1, "write", "x", "a").Inv(2, "read", "x").Ok(1, "write", "x", rev: 7).Ok(2, "read", "x", "a", 6);
        Assert.Equal(Validity.Valid, RevisionChecker.Check(concurrent.Ops).Validity);
    }
}

public class WatchCheckerTests
{
    private static CheckResult Watch(H h)
    {
        h.Archive(CommittedHistoryTests.Committed()).Final(5, H.Put("y", "c", 4, 4, 1));
        return WatchChecker.Check(h.Ops, CommittedHistory.FromHistory(h.Ops));
    }

    private static Ev P(string k, string v, long rev, long c, long ver, string? prev = null) => H.Put(k, v, rev, c, ver, prev, prev != null);

    [Fact]
    public void CompleteOrderedStreamIsAccepted()
    {
        var h = new H().WStart(10, "x", 1, "\0")
            .WEv(10, 3, P("x", "a", 2, 2, 1), P("x", "b", 3, 2, 2, "a"))
            .WProg(10, 3)
            .WEv(10, 5, P("y", "c", 4, 4, 1), H.Del("x", 5, "b", true))
            .WProg(10, 9);
        var r = Watch(h);
        Assert.True(r.Validity == Validity.Valid, r.ToString());
    }

    [Fact]
    public void ResumeFromLastPlusOneAndFiltersAreAccepted()
    {
        var h = new H().WStart(10, "x", 1, prevKv: false)
            .WEv(10, 2, P("x", "a", 2, 2, 1)).WEnd(10)
            .WStart(10, "x", 3, prevKv: false).WEv(10, 5, P("x", "b", 3, 2, 2), H.Del("x", 5))
            .WStart(11, "a", 1, "\0", noDelete: true).WEv(11, 4, P("x", "a", 2, 2, 1), P("x", "b", 3, 2, 2, "a"), P("y", "c", 4, 4, 1))
            .WStart(12, "x", 1, noPut: true).WEv(12, 5, H.Del("x", 5, "b", true));
        var r = Watch(h);
        Assert.True(r.Validity == Validity.Valid, r.ToString());
    }

    [Fact]
    public void DuplicateEventIsRejected()
    {
        var r = Watch(new H().WStart(10, "x", 1).WEv(10, 2, P("x", "a", 2, 2, 1)).WEv(10, 2, P("x", "a", 2, 2, 1)));
        Assert.Equal(Validity.Invalid, r.Validity);
        Assert.Contains("again", r.Problems[0]);
    }

    [Fact]
    public void GapIsRejected()
    {
        var r = Watch(new H().WStart(10, "x", 1).WEv(10, 3, P("x", "b", 3, 2, 2, "a")));
        Assert.Equal(Validity.Invalid, r.Validity);
        Assert.Contains("missed", r.Problems[0]);
    }

    [Fact]
    public void OutOfOrderIsRejected()
    {
        var r = Watch(new H().WStart(10, "x", 1).WEv(10, 3, P("x", "b", 3, 2, 2, "a"), P("x", "a", 2, 2, 1)));
        Assert.Equal(Validity.Invalid, r.Validity);
    }

    [Fact]
    public void SplitRevisionIsRejected()
    {
        var h = new H()
            .Inv(1, "write", "x", "a").Ok(1, "write", "x", rev: 2)
            .Inv(1, "write", "y", "b").Ok(1, "write", "y", rev: 2)
            .Archive(H.Put("x", "a", 2, 2, 1), H.Put("y", "b", 2, 2, 1)).Final(2, H.Put("x", "a", 2, 2, 1), H.Put("y", "b", 2, 2, 1))
            .WStart(10, "a", 1, "\0").WEv(10, 2, H.Put("x", "a", 2, 2, 1)).WEv(10, 2, H.Put("y", "b", 2, 2, 1));
        var r = WatchChecker.Check(h.Ops, CommittedHistory.FromHistory(h.Ops));
        Assert.Equal(Validity.Invalid, r.Validity);
        Assert.Contains(r.Problems, p => p.Contains("split"));
        var whole = new H()
            .Archive(H.Put("x", "a", 2, 2, 1), H.Put("y", "b", 2, 2, 1)).Final(2, H.Put("x", "a", 2, 2, 1), H.Put("y", "b", 2, 2, 1))
            .WStart(10, "a", 1, "\0", prevKv: false).WEv(10, 2, H.Put("x", "a", 2, 2, 1), H.Put("y", "b", 2, 2, 1));
        Assert.Equal(Validity.Valid, WatchChecker.Check(whole.Ops, CommittedHistory.FromHistory(whole.Ops)).Validity);
    }

    [Fact]
    public void WrongPrevKvIsRejected()
    {
        var r = Watch(new H().WStart(10, "x", 1).WEv(10, 3, P("x", "a", 2, 2, 1), P("x", "b", 3, 2, 2, "zzz")));
        Assert.Equal(Validity.Invalid, r.Validity);
        Assert.Contains("prev_kv", r.Problems[0]);
    }

    [Fact]
    public void MissingPrevKvIsRejectedUnlessItsRevisionWasCompacted()
    {
        var missing = Watch(new H().WStart(10, "x", 1).WEv(10, 3, P("x", "a", 2, 2, 1), H.Put("x", "b", 3, 2, 2)));
        Assert.Equal(Validity.Invalid, missing.Validity);
        var h = new H();
        h.Ops.Add(new Op { Process = -2, Type = OpType.Invoke, F = Fn.Nemesis, Key = Fn.Compact });
        h.Ops.Add(new Op { Process = -2, Type = OpType.Ok, F = Fn.Compact, Revision = 3 });
        var compacted = Watch(h.WStart(10, "x", 3).WEv(10, 3, H.Put("x", "b", 3, 2, 2)));
        Assert.True(compacted.Validity == Validity.Valid, compacted.ToString());
    }

    [Fact]
    public void WrongIsCreateIsRejected()
    {
        var r = Watch(new H().WStart(10, "x", 1).WEv(10, 3, P("x", "a", 2, 2, 1), P("x", "b", 3, 3, 1, "a")));
        Assert.Equal(Validity.Invalid, r.Validity);
        Assert.Contains("is-create", r.Problems[0]);
    }

    [Fact]
    public void FilterViolationIsRejected()
    {
        var r = Watch(new H().WStart(10, "x", 1, noPut: true).WEv(10, 2, P("x", "a", 2, 2, 1)));
        Assert.Equal(Validity.Invalid, r.Validity);
    }

    [Fact]
    public void EventBelowResumeRevisionIsRejected()
    {
        var r = Watch(new H().WStart(10, "x", 3).WEv(10, 3, P("x", "a", 2, 2, 1), P("x", "b", 3, 2, 2, "a")));
        Assert.Equal(Validity.Invalid, r.Validity);
    }

    [Fact]
    public void ResumeThatSkipsRevisionsIsRejected()
    {
        var r = Watch(new H().WStart(10, "x", 1).WEv(10, 2, P("x", "a", 2, 2, 1)).WEnd(10).WStart(10, "x", 5).WEv(10, 5, H.Del("x", 5, "b", true)));
        Assert.Equal(Validity.Invalid, r.Validity);
        var compacted = Watch(new H().Compact(5).WStart(10, "x", 1).WEv(10, 2, P("x", "a", 2, 2, 1)).WEnd(10, compact: 5).WStart(10, "x", 5).WEv(10, 5, H.Del("x", 5, "b", true)));
        Assert.True(compacted.Validity == Validity.Valid, compacted.ToString());
    }

    [Fact]
    public void DeleteAtTheCompactionRevisionMayBeMissingOnlyThere()
    {
        // Compaction to 5 drops the tombstone at 5: a watch resumed at 5 starts with revision 6.
        var h = new H().WStart(10, "x", 1).WEv(10, 4, P("x", "a", 2, 2, 1), P("x", "b", 4, 2, 2, "a")).WEnd(10, compact: 5)
            .WStart(10, "x", 5).WEv(10, 6, P("x", "c", 6, 6, 1)).WProg(10, 6);
        var hist = new H().Inv(1, "write", "x", "a").Ok(1, "write", "x", rev: 2).Inv(1, "write", "y", "q").Ok(1, "write", "y", rev: 3)
            .Inv(1, "write", "x", "b").Ok(1, "write", "x", rev: 4).Inv(1, "write", "x", null).Ok(1, "write", "x", rev: 5)
            .Inv(1, "write", "x", "c").Ok(1, "write", "x", rev: 6)
            .Archive(H.Put("x", "a", 2, 2, 1), H.Put("y", "q", 3, 3, 1), H.Put("x", "b", 4, 2, 2, "a", true), H.Del("x", 5, "b", true), H.Put("x", "c", 6, 6, 1))
            .Final(6, H.Put("x", "c", 6, 6, 1), H.Put("y", "q", 3, 3, 1));
        List<Op> With(H w, bool compacted)
        {
            var c = compacted ? new H().Compact(5).Ops : [];
            return [.. c, .. hist.Ops, .. w.Ops];
        }
        var ok = WatchChecker.Check(With(h, true), CommittedHistory.FromHistory(hist.Ops));
        Assert.True(ok.Validity == Validity.Valid, ok.ToString());
        // Without that compaction the same watch missed the DELETE (and the resume claims a compaction nobody made).
        var bad = WatchChecker.Check(With(h, false), CommittedHistory.FromHistory(hist.Ops));
        Assert.Equal(Validity.Invalid, bad.Validity);
        Assert.Contains(bad.Problems, p => p.Contains("missed committed events at revision 5"));
    }

    [Fact]
    public void CompactionNobodyRequestedIsRejected()
    {
        // A member that lost history (say, rebuilt from a snapshot after a replacement) cancels a watch as compacted.
        var r = Watch(new H().Compact(3).WStart(10, "x", 1).WEv(10, 2, P("x", "a", 2, 2, 1)).WEnd(10, compact: 5).WStart(10, "x", 5).WEv(10, 5, H.Del("x", 5, "b", true)));
        Assert.Equal(Validity.Invalid, r.Validity);
        Assert.Contains("no compaction", r.Problems[0]);
    }

    [Fact]
    public void FaultThatCouldNotCompleteFailsTheRun()
    {
        var h = new H();
        h.Ops.Add(new Op { Process = -2, Type = OpType.Invoke, F = Fn.Nemesis, Key = Nemesis.Replace, Value = "replace c2" });
        Assert.Equal(Validity.Valid, Checker.RecoveryCheck(h.Ops).Validity);
        h.Ops.Add(new Op { Process = -2, Type = OpType.Info, F = Fn.Nemesis, Key = Nemesis.Note, Value = "replace c2 FAILED", Error = "c2-1 not serving after 30 s" });
        var r = Checker.RecoveryCheck(h.Ops);
        Assert.Equal(Validity.Invalid, r.Validity);
        Assert.Contains("not serving", r.Problems[0]);
    }

    [Fact]
    public void LyingBookmarkIsRejected()
    {
        var r = Watch(new H().WStart(10, "x", 1).WEv(10, 2, P("x", "a", 2, 2, 1)).WProg(10, 4));
        Assert.Equal(Validity.Invalid, r.Validity);
        Assert.Contains("bookmark", r.Problems[0]);
        var after = Watch(new H().WStart(10, "x", 1).WEv(10, 3, P("x", "a", 2, 2, 1), P("x", "b", 3, 2, 2, "a")).WProg(10, 5).WEv(10, 5, H.Del("x", 5, "b", true)));
        Assert.Equal(Validity.Invalid, after.Validity);
    }

    [Fact]
    public void PhantomEventIsRejected()
    {
        var r = Watch(new H().WStart(10, "x", 1).WEv(10, 2, P("x", "a", 2, 2, 1)).WEv(10, 6, P("x", "new", 6, 6, 1)));
        Assert.Equal(Validity.Invalid, r.Validity);
    }
}
