using Cairn.JepsenLite.History;

namespace Cairn.JepsenLite.Checkers;

/// <summary>
/// Checks the append workload (f = txn) in the manner of Jepsen's Elle list-append checker, for strict
/// serializability:
/// <list type="bullet">
/// <item>every list read and the final list of each key (the final-state record, else the longest list seen) is free
/// of duplicates, and every read is a prefix of the final list (so all reads of a key agree on one order);</item>
/// <item>no acknowledged append is lost: a successful Txn's list + element is a prefix of the final list; every
/// final element was appended by a Txn that did not definitely fail;</item>
/// <item>the dependency graph has no cycle. The final lists give each key's version order; edges: ww (writer of
/// element i → writer of element i + 1), wr (writer of the last element a Txn read → that Txn), rw (a Txn that read
/// i elements → the writer of element i + 1, which it did not see) and real time (a Txn completed before another was
/// invoked). A cycle means the Txns cannot be put in one order consistent with what each read and with real time:
/// two Txns that saw each other's writes, a Txn whose reads mix two revisions, a stale read after a later Txn
/// completed.</item>
/// </list>
/// With a committed history (the archive), each successful Txn's puts must also all be committed at its response
/// revision, together (atomic).
/// </summary>
public static class AppendChecker
{
    /// <summary>A transaction: its invoke, its completion (null when it never completed) and its position in the graph.</summary>
    private sealed record T(int Id, Op Invoke, Op? Done)
    {
        public bool Ok => Done is { Type: OpType.Ok };
        public bool Appended => Done is { Type: OpType.Ok, Succeeded: true };
        public bool MayHaveAppended => Done == null || Done.Type == OpType.Info || Appended;
        public IEnumerable<Mop> Appends => (Done?.Txn ?? Invoke.Txn ?? []).Where(m => m.F == Mop.Append);
        public IEnumerable<Mop> Reads => Ok ? Done!.Txn!.Where(m => m.F == Mop.R && m.Read != null) : [];
        public override string ToString() =>
            $"p{Invoke.Process} txn [{string.Join(", ", Done?.Txn ?? Invoke.Txn ?? [])}] {(Done == null ? "never completed" : Done.Type)}" +
            $"{(Done?.Succeeded is { } s ? (s ? " appended" : " compare failed") : "")}{(Done?.Revision is { } r ? $" rev {r}" : "")} on {Invoke.Member} " +
            $"({Invoke.TimeNs / 1e6:0}–{(Done == null ? "?" : (Done.TimeNs / 1e6).ToString("0", System.Globalization.CultureInfo.InvariantCulture))} ms)";
    }

    /// <summary>Runs the checks; <paramref name="committed"/> is optional.</summary>
    public static CheckResult Check(IReadOnlyList<Op> history, CommittedHistory? committed = null)
    {
        var txns = Pair(history);
        var problems = new List<string>();
        if (txns.Count == 0) return CheckResult.Ok("append", "no transactions");
        var final = FinalLists(history, txns);
        CheckLists(txns, final, problems);
        if (committed != null) CheckCommitted(txns, committed, problems);
        var cycles = Cycles(txns, final);
        problems.AddRange(cycles);
        return CheckResult.From("append", problems,
            $"{txns.Count} txns ({txns.Count(t => t.Appended)} appended, {txns.Count(t => t.Ok && !t.Appended)} compare failed, {txns.Count(t => !t.Ok)} unknown), " +
            $"{final.Count} keys, {final.Values.Sum(l => l.Count)} elements in the final lists (longest {final.Values.Select(l => l.Count).DefaultIfEmpty(0).Max()})");
    }

    private static List<T> Pair(IReadOnlyList<Op> history)
    {
        var open = new Dictionary<int, Op>();
        var list = new List<T>();
        foreach (var op in history.Where(o => o.F == Fn.Txn))
        {
            if (op.Type == OpType.Invoke)
            {
                open[op.Process] = op;
            }
            else if (open.Remove(op.Process, out var inv) && op.Type != OpType.Fail)
            {
                list.Add(new T(list.Count, inv, op));
            }
        }
        foreach (var inv in open.Values) list.Add(new T(list.Count, inv, null));
        return list;
    }

    /// <summary>Each key's final list: from the final Range when recorded, else the longest list read or written.</summary>
    private static Dictionary<string, List<string>> FinalLists(IReadOnlyList<Op> history, List<T> txns)
    {
        var keys = txns.SelectMany(t => (t.Invoke.Txn ?? []).Select(m => m.Key)).ToHashSet();
        var final = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        var state = history.LastOrDefault(o => o.F == CommittedHistory.FinalStateF);
        foreach (var k in keys)
        {
            if (state != null)
            {
                final[k] = Mop.Parse(state.Events?.FirstOrDefault(e => e.Key == k)?.Value);
                continue;
            }
            var seen = txns.SelectMany(t => t.Reads.Where(m => m.Key == k).Select(m => m.Read!))
                .Concat(txns.Where(t => t.Appended).SelectMany(t => t.Appends.Where(m => m.Key == k).Select(m => Mop.Parse(m.Written))));
            final[k] = seen.OrderByDescending(l => l.Count).FirstOrDefault() ?? [];
        }
        return final;
    }

    private static void CheckLists(List<T> txns, Dictionary<string, List<string>> final, List<string> problems)
    {
        foreach (var (k, f) in final)
        {
            foreach (var dup in f.GroupBy(e => e).Where(g => g.Count() > 1))
            {
                problems.Add($"key {k}: element {dup.Key} appears {dup.Count()} times in the final list — duplicated append");
            }
            var appenders = txns.Where(t => t.MayHaveAppended).SelectMany(t => t.Appends.Where(m => m.Key == k).Select(m => m.Element)).ToHashSet();
            foreach (var e in f.Where(e => !appenders.Contains(e)))
            {
                problems.Add($"key {k}: final list has {e} which no transaction that may have succeeded appended");
            }
        }
        foreach (var t in txns)
        {
            foreach (var r in t.Reads)
            {
                var f = final.GetValueOrDefault(r.Key) ?? [];
                if (r.Read!.Distinct().Count() != r.Read!.Count)
                {
                    problems.Add($"{t}: read {r.Key} [{Mop.Short(r.Read!)}] has a duplicate element");
                }
                else if (!IsPrefix(r.Read!, f))
                {
                    problems.Add($"{t}: read {r.Key} [{Mop.Short(r.Read!)}] is not a prefix of its final list [{Mop.Short(f)}]");
                }
            }
            if (!t.Appended) continue;
            foreach (var a in t.Appends)
            {
                var f = final.GetValueOrDefault(a.Key) ?? [];
                if (!f.Contains(a.Element!))
                {
                    problems.Add($"{t}: acknowledged append of {a.Element} to {a.Key} is lost (final list [{Mop.Short(f)}])");
                }
                else if (!IsPrefix(Mop.Parse(a.Written), f))
                {
                    problems.Add($"{t}: acknowledged append wrote {a.Key} = [{Mop.Short(Mop.Parse(a.Written))}], not a prefix of its final list [{Mop.Short(f)}]");
                }
            }
        }
    }

    private static bool IsPrefix(List<string> p, List<string> f) => p.Count <= f.Count && p.SequenceEqual(f.Take(p.Count));

    private static void CheckCommitted(List<T> txns, CommittedHistory committed, List<string> problems)
    {
        if (committed.Problems.Count > 0) return;
        foreach (var t in txns.Where(t => t.Appended))
        {
            var at = committed.At(t.Done!.Revision ?? -1) ?? [];
            foreach (var a in t.Appends.Where(a => !at.Any(e => e.Type == "PUT" && e.Key == a.Key && e.Value == a.Written)))
            {
                problems.Add($"{t}: its put {a.Key} = [{Mop.Short(Mop.Parse(a.Written))}] is not committed at its revision {t.Done.Revision} (committed there: {string.Join(", ", at)}) — lost or split transaction");
            }
        }
    }

    /// <summary>Builds the dependency graph and reports each strongly connected component (a cycle) with one cycle spelled out.</summary>
    private static List<string> Cycles(List<T> txns, Dictionary<string, List<string>> final)
    {
        int n = txns.Count;
        // Real time through a chain of event nodes: T → (its completion event) → … later events … → (invoke event) → T'.
        // Event nodes are n .. n + events − 1, in time order; this gives T → T' exactly when T completed before T' was invoked.
        var events = new List<(long Time, int Order, int Txn, bool IsCompletion)>();
        foreach (var t in txns)
        {
            events.Add((t.Invoke.TimeNs, 1, t.Id, false));
            if (t.Ok) events.Add((t.Done!.TimeNs, 0, t.Id, true));
        }
        // At equal times a completion is not "before" an invoke: order invokes first.
        events.Sort((a, b) => a.Time != b.Time ? a.Time.CompareTo(b.Time) : b.Order.CompareTo(a.Order));
        var edges = new List<(int To, string Why)>[n + events.Count];
        for (int i = 0; i < edges.Length; i++) edges[i] = [];
        for (int i = 0; i < events.Count; i++)
        {
            if (i + 1 < events.Count) edges[n + i].Add((n + i + 1, ""));
            var (_, _, tx, isCompletion) = events[i];
            if (isCompletion) edges[tx].Add((n + i, "rt"));
            else edges[n + i].Add((tx, "rt"));
        }
        foreach (var (k, f) in final)
        {
            var writer = new int[f.Count];
            var byElement = new Dictionary<string, int>();
            foreach (var t in txns.Where(t => t.MayHaveAppended))
            {
                foreach (var a in t.Appends.Where(a => a.Key == k)) byElement.TryAdd(a.Element!, t.Id);
            }
            for (int i = 0; i < f.Count; i++) writer[i] = byElement.GetValueOrDefault(f[i], -1);
            for (int i = 0; i + 1 < f.Count; i++)
            {
                if (writer[i] >= 0 && writer[i + 1] >= 0 && writer[i] != writer[i + 1]) edges[writer[i]].Add((writer[i + 1], $"ww {k}"));
            }
            foreach (var t in txns)
            {
                foreach (var r in t.Reads.Where(r => r.Key == k))
                {
                    int len = r.Read!.Count;
                    if (!IsPrefix(r.Read, f)) continue;
                    if (len > 0 && writer[len - 1] >= 0 && writer[len - 1] != t.Id) edges[writer[len - 1]].Add((t.Id, $"wr {k}"));
                    if (len < f.Count && writer[len] >= 0 && writer[len] != t.Id) edges[t.Id].Add((writer[len], $"rw {k}"));
                }
            }
        }
        var problems = new List<string>();
        foreach (var scc in Tarjan(edges).Where(c => c.Count(v => v < n) > 1))
        {
            problems.Add($"dependency cycle among {scc.Count(v => v < n)} transactions: {Describe(scc, edges, txns, n)}");
            if (problems.Count >= 10) break;
        }
        return problems;
    }

    /// <summary>One cycle inside a strongly connected component, by breadth-first search from one of its transactions back to it.</summary>
    private static string Describe(List<int> scc, List<(int To, string Why)>[] edges, List<T> txns, int n)
    {
        var inScc = scc.ToHashSet();
        int start = scc.First(v => v < n);
        var parent = new Dictionary<int, (int From, string Why)>();
        var queue = new Queue<int>();
        queue.Enqueue(start);
        int end = -1;
        string endWhy = "";
        while (queue.Count > 0 && end < 0)
        {
            int v = queue.Dequeue();
            foreach (var (to, why) in edges[v].Where(e => inScc.Contains(e.To)))
            {
                if (to == start) { end = v; endWhy = why; break; }
                if (parent.TryAdd(to, (v, why))) queue.Enqueue(to);
            }
        }
        var steps = new List<(int V, string Why)> { (end, endWhy) };
        for (int v = end; v != start;)
        {
            var (from, why) = parent[v];
            steps.Add((from, why));
            v = from;
        }
        steps.Reverse();
        // Each step is an edge leaving a node; real-time event nodes are left out (their transaction's edge reads "rt").
        var path = steps.Where(s => s.V < n).Select(s => $"{txns[s.V]} —{s.Why}→").ToList();
        return string.Join(" ", path) + " (back to the first)";
    }

    /// <summary>Iterative Tarjan: strongly connected components (no recursion, so long histories cannot overflow the stack).</summary>
    private static List<List<int>> Tarjan(List<(int To, string Why)>[] edges)
    {
        int count = edges.Length, index = 0;
        var idx = new int[count];
        var low = new int[count];
        var on = new bool[count];
        Array.Fill(idx, -1);
        var stack = new Stack<int>();
        var result = new List<List<int>>();
        var work = new Stack<(int V, int Edge)>();
        for (int s = 0; s < count; s++)
        {
            if (idx[s] >= 0) continue;
            work.Push((s, 0));
            while (work.Count > 0)
            {
                var (v, e) = work.Pop();
                if (e == 0)
                {
                    idx[v] = low[v] = index++;
                    stack.Push(v);
                    on[v] = true;
                }
                bool descended = false;
                for (; e < edges[v].Count; e++)
                {
                    int w = edges[v][e].To;
                    if (idx[w] < 0)
                    {
                        work.Push((v, e + 1));
                        work.Push((w, 0));
                        descended = true;
                        break;
                    }
                    if (on[w]) low[v] = Math.Min(low[v], idx[w]);
                }
                if (descended) continue;
                if (low[v] == idx[v])
                {
                    var comp = new List<int>();
                    int w;
                    do
                    {
                        w = stack.Pop();
                        on[w] = false;
                        comp.Add(w);
                    } while (w != v);
                    result.Add(comp);
                }
                if (work.Count > 0)
                {
                    var (parent, _) = work.Peek();
                    low[parent] = Math.Min(low[parent], low[v]);
                }
            }
        }
        return result;
    }
}
