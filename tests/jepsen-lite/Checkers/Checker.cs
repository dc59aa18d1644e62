using Cairn.JepsenLite.History;

namespace Cairn.JepsenLite.Checkers;

/// <summary>Runs every checker over a history.</summary>
public static class Checker
{
    public static List<CheckResult> CheckAll(IReadOnlyList<Op> history, long linBudget = 2_000_000)
    {
        var results = new List<CheckResult>();
        Func<Op, bool>? never = null;
        CommittedHistory? committed = null;
        if (history.Any(o => o.F == CommittedHistory.ArchiveF))
        {
            committed = CommittedHistory.FromHistory(history);
            if (committed.Problems.Count == 0)
            {
                // Values are unique per write: an unknown write/cas whose value never got committed did not happen.
                var values = committed.ByRevision.Values.SelectMany(l => l).Where(e => e.Type == "PUT").Select(e => (e.Key, e.Value)).ToHashSet();
                never = inv => inv.F is Fn.Write or Fn.Cas && inv.Value != null && !values.Contains((inv.Key!, inv.Value));
            }
        }
        results.Add(LinearizabilityChecker.Check(history, linBudget, never));
        results.Add(RevisionChecker.Check(history));
        if (committed != null)
        {
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
