using Cairn.JepsenLite.History;

namespace Cairn.JepsenLite.Checkers;

/// <summary>Runs every checker over a history.</summary>
public static class Checker
{
    public static List<CheckResult> CheckAll(IReadOnlyList<Op> history, long linBudget = 2_000_000)
    {
        var results = new List<CheckResult> { LinearizabilityChecker.Check(history, linBudget), RevisionChecker.Check(history) };
        if (history.Any(o => o.F == CommittedHistory.ArchiveF))
        {
            var committed = CommittedHistory.FromHistory(history);
            results.Add(committed.Result());
            results.Add(AckedWritesChecker.Check(history, committed));
            results.Add(WatchChecker.Check(history, committed));
        }
        return results;
    }

    public static Validity Overall(IEnumerable<CheckResult> results) =>
        results.Any(r => r.Validity == Validity.Invalid) ? Validity.Invalid
        : results.Any(r => r.Validity == Validity.Unknown) ? Validity.Unknown : Validity.Valid;
}
