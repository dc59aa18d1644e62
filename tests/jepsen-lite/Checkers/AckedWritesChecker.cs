using Cairn.JepsenLite.History;

namespace Cairn.JepsenLite.Checkers;

/// <summary>
/// No acknowledged write lost, nothing invented: every acknowledged write / successful cas appears in the committed
/// history at the revision its response reported; every read's (value, mod_revision) was committed; every committed
/// PUT value was written by some client (invoked write or cas).
/// </summary>
public static class AckedWritesChecker
{
    public static CheckResult Check(IReadOnlyList<Op> history, CommittedHistory committed)
    {
        var problems = new List<string>();
        var invokedValues = new HashSet<(string, string)>();
        var open = new Dictionary<int, Op>();
        int acked = 0;
        foreach (var op in history)
        {
            if (op.F == Fn.Txn && op.Type == OpType.Invoke)
            {
                // The append workload's values: what each transaction would write (checked by the append checker).
                foreach (var m in (op.Txn ?? []).Where(m => m.Written != null)) invokedValues.Add((m.Key, m.Written!));
            }
            if (op.F is not (Fn.Read or Fn.Write or Fn.Cas))
            {
                continue;
            }
            if (op.Type == OpType.Invoke)
            {
                open[op.Process] = op;
                if (op.F != Fn.Read && op.Value != null)
                {
                    invokedValues.Add((op.Key!, op.Value));
                }
                continue;
            }
            if (!open.Remove(op.Process, out var inv) || op.Type != OpType.Ok)
            {
                continue;
            }
            if ((inv.F == Fn.Write && inv.Value != null) || (inv.F == Fn.Cas && op.Succeeded == true))
            {
                acked++;
                var evs = committed.At(op.Revision ?? -1);
                if (evs == null || !evs.Any(e => e.Type == "PUT" && e.Key == inv.Key && e.Value == inv.Value))
                {
                    problems.Add($"acknowledged {inv.F} {inv.Key}={inv.Value} at revision {op.Revision} is not in the committed history " +
                        $"(committed there: {(evs == null ? "nothing" : string.Join(", ", evs))}) — lost write");
                }
            }
            else if (inv.F == Fn.Read && op.Value != null && op.ModRevision is { } m)
            {
                var evs = committed.At(m);
                if (evs == null || !evs.Any(e => e.Type == "PUT" && e.Key == inv.Key && e.Value == op.Value))
                {
                    problems.Add($"read {inv.Key}={op.Value} mod_revision {m} (p{op.Process}) does not match the committed history " +
                        $"({(evs == null ? "nothing" : string.Join(", ", evs))})");
                }
            }
        }
        foreach (var evs in committed.ByRevision.Values)
        {
            foreach (var e in evs.Where(e => e.Type == "PUT" && !invokedValues.Contains((e.Key, e.Value ?? ""))))
            {
                problems.Add($"committed {e} was never written by any client");
            }
        }
        return CheckResult.From("acked-writes", problems, $"{acked} acknowledged writes checked");
    }
}
