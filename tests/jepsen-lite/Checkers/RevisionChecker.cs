using Cairn.JepsenLite.History;

namespace Cairn.JepsenLite.Checkers;

/// <summary>
/// Revisions never go backwards in real time: an operation invoked after another completed (any client, any
/// member — every request here is linearizable) must carry a response revision at least as large. This implies
/// the per-client and per-member orders.
/// </summary>
public static class RevisionChecker
{
    public static CheckResult Check(IReadOnlyList<Op> history)
    {
        var problems = new List<string>();
        var open = new Dictionary<int, Op>();
        var done = new List<(Op Inv, Op Ok)>();
        foreach (var op in history)
        {
            if (op.F is not (Fn.Read or Fn.Write or Fn.Cas or Fn.Txn))
            {
                continue;
            }
            if (op.Type == OpType.Invoke)
            {
                open[op.Process] = op;
            }
            else if (open.Remove(op.Process, out var inv) && op.Type == OpType.Ok && op.Revision is > 0)
            {
                done.Add((inv, op));
            }
        }
        // Sweep: completions by time; for each op by invoke time, the max revision completed before it.
        var byCompletion = done.OrderBy(d => d.Ok.TimeNs).ToList();
        int ci = 0;
        (Op Inv, Op Ok)? maxDone = null;
        foreach (var d in done.OrderBy(d => d.Inv.TimeNs))
        {
            while (ci < byCompletion.Count && byCompletion[ci].Ok.TimeNs < d.Inv.TimeNs)
            {
                if (maxDone == null || byCompletion[ci].Ok.Revision > maxDone.Value.Ok.Revision)
                {
                    maxDone = byCompletion[ci];
                }
                ci++;
            }
            if (maxDone is { } m && d.Ok.Revision < m.Ok.Revision)
            {
                problems.Add($"revision went backwards: {d.Inv.F} {d.Inv.Key} on {d.Inv.Member} (p{d.Inv.Process}) got revision {d.Ok.Revision} " +
                    $"after {m.Inv.F} {m.Inv.Key} on {m.Inv.Member} (p{m.Inv.Process}) completed with revision {m.Ok.Revision}");
            }
        }
        return CheckResult.From("revision-monotonic", problems, $"{done.Count} completed ops");
    }
}
