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
        results.Add(RecoveryCheck(history));
        results.Add(LinearizabilityChecker.Check(history, linBudget, never));
        results.Add(RevisionChecker.Check(history));
        if (committed != null)
        {
            results.Add(committed.Result());
            results.Add(AckedWritesChecker.Check(history, committed));
            results.Add(WatchChecker.Check(history, committed));
        }
        if (history.Any(o => o.F == Fn.Txn))
        {
            results.Add(AppendChecker.Check(history, committed));
        }
        return results;
    }

    /// <summary>
    /// Faults the harness could not complete (a replaced member that never served) and a cluster that did not come
    /// back after every fault was healed: not a safety violation, but a run that must not pass silently.
    /// </summary>
    public static CheckResult RecoveryCheck(IReadOnlyList<Op> history)
    {
        var problems = history.Where(o => o.F == Fn.Nemesis && o.Key == Cluster.Nemesis.Note && o.Error != null)
            .Select(o => $"{o.TimeNs / 1e9:0.0}s {o.Value}: {o.Error}").ToList();
        return CheckResult.From("recovery", problems, $"{history.Count(o => o.F == Fn.Nemesis && o.Type == OpType.Invoke)} faults");
    }

    public static Validity Overall(IEnumerable<CheckResult> results) =>
        results.Any(r => r.Validity == Validity.Invalid) ? Validity.Invalid
        : results.Any(r => r.Validity == Validity.Unknown) ? Validity.Unknown : Validity.Valid;
}
