using Mvccpb;

namespace Cairn.Client.Tests.Infra;

/// <summary>
/// The guarantee check for a watch: what it delivered must equal the committed history of its
/// key set (as a fresh watch from the same start on a healthy member reports it): ordered
/// (revisions never go back), unique (no revision/key twice), reliable (nothing missing) and
/// exact (same key, value, versions, prev_kv). Returns the problems found (empty = correct).
/// </summary>
public static class HistoryChecker
{
    public static List<string> Check(IReadOnlyList<Event> expected, IReadOnlyList<Event> delivered, int maxProblems = 10)
    {
        var problems = new List<string>();
        var seen = new HashSet<(long, string)>();
        long previous = 0;
        foreach (var e in delivered)
        {
            var rev = e.Kv.ModRevision;
            if (rev < previous)
            {
                problems.Add($"order: revision {rev} delivered after {previous}");
            }
            if (!seen.Add((rev, e.Kv.Key.ToBase64())))
            {
                problems.Add($"duplicate: {e.Type} {e.Kv.Key.ToStringUtf8()} at revision {rev} delivered twice");
            }
            previous = Math.Max(previous, rev);
        }
        var expectedSet = expected.Select(e => (e.Kv.ModRevision, e.Kv.Key.ToBase64())).ToHashSet();
        foreach (var e in expected)
        {
            if (!seen.Contains((e.Kv.ModRevision, e.Kv.Key.ToBase64())))
            {
                problems.Add($"gap: {e.Type} {e.Kv.Key.ToStringUtf8()} at revision {e.Kv.ModRevision} never delivered");
                if (problems.Count >= maxProblems)
                {
                    return problems;
                }
            }
        }
        foreach (var e in delivered)
        {
            if (!expectedSet.Contains((e.Kv.ModRevision, e.Kv.Key.ToBase64())))
            {
                problems.Add($"phantom: {e.Type} {e.Kv.Key.ToStringUtf8()} at revision {e.Kv.ModRevision} is not in the history");
            }
        }
        if (problems.Count == 0)
        {
            for (var i = 0; i < expected.Count; i++)
            {
                if (!expected[i].Equals(delivered[i]))
                {
                    problems.Add($"content: event {i} differs: expected {expected[i]}, delivered {delivered[i]}");
                    if (problems.Count >= maxProblems)
                    {
                        break;
                    }
                }
            }
        }
        return problems.Take(maxProblems).ToList();
    }
}
