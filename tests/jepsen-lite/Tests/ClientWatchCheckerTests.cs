using Cairn.JepsenLite.Checkers;
using Cairn.JepsenLite.History;

namespace Cairn.JepsenLite.Tests;

/// <summary>
/// The watch checker on client watchers (the C# client failing over between members by itself): one session per watch,
/// each batch naming the member whose stream carried it. Committed history (as in <see cref="WatchCheckerTests"/>):
/// x=a@2, x=b@3, y=c@4, delete x@5; final revision 5.
/// </summary>
public class ClientWatchCheckerTests
{
    private static CheckResult Watch(H h)
    {
        h.Archive(CommittedHistoryTests.Committed()).Final(5, H.Put("y", "c", 4, 4, 1));
        return WatchChecker.Check(h.Ops, CommittedHistory.FromHistory(h.Ops));
    }

    private static Ev P(string k, string v, long rev, long c, long ver, string? prev = null) => H.Put(k, v, rev, c, ver, prev, prev != null);

    private static readonly Ev X2 = P("x", "a", 2, 2, 1), X3 = P("x", "b", 3, 2, 2, "a"), Y4 = P("y", "c", 4, 4, 1), D5 = H.Del("x", 5, "b", true);

    [Fact]
    public void ExactHistoryAcrossResumesIsAccepted()
    {
        var h = new H()
            .CStart(20, "a", 1, "\0", requireLeader: true).CCreated(20, 1).CEv(20, "c1", 3, X2, X3)
            .CEv(20, "c2", 4, Y4).CProg(20, "c2", 4).CEv(20, "c3", 5, D5).CProg(20, "c3", 5).CEnd(20)
            .CStart(21, "a", 0, "\0", member: "c2").CCreated(21, 3, "c2").CProg(21, "c2", 3).CEv(21, "c3", 4, Y4).CEv(21, "c1", 5, D5).CEnd(21);
        var r = Watch(h);
        Assert.True(r.Validity == Validity.Valid, r.ToString());
    }

    [Fact]
    public void DuplicateEventAcrossAResumeIsRejected()
    {
        var r = Watch(new H().CStart(20, "a", 1, "\0").CEv(20, "c1", 3, X2, X3).CEv(20, "c2", 5, X3, Y4, D5).CEnd(20));
        Assert.Equal(Validity.Invalid, r.Validity);
        Assert.Contains(r.Problems, p => p.Contains("revision 3 delivered again") && p.Contains("on c2 (resumed there after c1)"));
    }

    [Fact]
    public void GapAcrossAResumeIsRejected()
    {
        var r = Watch(new H().CStart(20, "a", 1, "\0").CEv(20, "c1", 2, X2).CEv(20, "c2", 5, Y4, D5).CEnd(20));
        Assert.Equal(Validity.Invalid, r.Validity);
        Assert.Contains(r.Problems, p => p.Contains("missed committed events at revision 3") && p.Contains("on c2 (resumed there after c1)"));
    }

    [Fact]
    public void LyingBookmarkAfterAResumeIsRejected()
    {
        var r = Watch(new H().CStart(20, "a", 1, "\0").CEv(20, "c1", 2, X2).CProg(20, "c2", 4).CEv(20, "c2", 5, X3, Y4, D5).CEnd(20));
        Assert.Equal(Validity.Invalid, r.Validity);
        Assert.Contains(r.Problems, p => p.Contains("bookmark lies"));
    }

    [Fact]
    public void CompactionPastTheResumePointEndsTheWatchLegitimately()
    {
        // Delivered through 2, compacted at 4 while it needed 3: checked up to 2; the next watch starts at 4.
        var r = Watch(new H().Compact(4).CStart(20, "a", 1, "\0").CEv(20, "c1", 2, X2).CEnd(20, compact: 4, needed: 3)
            .CStart(20, "a", 4, "\0").CEv(20, "c2", 5, Y4, D5).CEnd(20));
        Assert.True(r.Validity == Validity.Valid, r.ToString());
        // Ended by compaction at the very end of the run: nothing to catch up with.
        var ended = Watch(new H().Compact(4).CStart(20, "a", 1, "\0").CEv(20, "c1", 2, X2).CEnd(20, compact: 4, needed: 3));
        Assert.True(ended.Validity == Validity.Valid, ended.ToString());
    }

    [Fact]
    public void CompactionAtOrBelowTheResumePointIsRejected()
    {
        // It had delivered through 3 (needs 4): a compaction at 4 leaves revision 4 watchable.
        var r = Watch(new H().Compact(4).CStart(20, "a", 1, "\0").CEv(20, "c1", 3, X2, X3).CEnd(20, compact: 4, needed: 4));
        Assert.Equal(Validity.Invalid, r.Validity);
        Assert.Contains(r.Problems, p => p.Contains("resume point 4 was still there"));
        // The client's own resume point disagrees with what it delivered (it delivered 2, so it needed 3).
        var wrong = Watch(new H().Compact(5).CStart(20, "a", 1, "\0").CEv(20, "c1", 2, X2).CEnd(20, compact: 5, needed: 2));
        Assert.Equal(Validity.Invalid, wrong.Validity);
        Assert.Contains(wrong.Problems, p => p.Contains("says it needed revision 2"));
    }

    [Fact]
    public void ClientWatchThatNeverCaughtUpIsRejected()
    {
        var r = Watch(new H().CStart(20, "a", 1, "\0").CEv(20, "c1", 3, X2, X3).CEnd(20));
        Assert.Equal(Validity.Invalid, r.Validity);
        Assert.Contains(r.Problems, p => p.Contains("never delivered the committed event(s) at revision 4"));
        var neverCreated = Watch(new H().CStart(21, "a", 0, "\0").CEnd(21));
        Assert.Equal(Validity.Invalid, neverCreated.Validity);
        Assert.Contains(neverCreated.Problems, p => p.Contains("never created"));
    }

    [Fact]
    public void WatchFromNowDeliveringBelowItsCreatedRevisionIsRejected()
    {
        var below = Watch(new H().CStart(21, "a", 0, "\0").CCreated(21, 3).CEv(21, "c1", 3, X3).CEv(21, "c1", 5, Y4, D5).CEnd(21));
        Assert.Equal(Validity.Invalid, below.Validity);
        Assert.Contains(below.Problems, p => p.Contains("below the start revision"));
        var early = Watch(new H().CStart(21, "a", 0, "\0").CEv(21, "c1", 4, Y4).CCreated(21, 3).CEv(21, "c1", 5, D5).CEnd(21));
        Assert.Equal(Validity.Invalid, early.Validity);
        Assert.Contains(early.Problems, p => p.Contains("before the created notification"));
    }
}
