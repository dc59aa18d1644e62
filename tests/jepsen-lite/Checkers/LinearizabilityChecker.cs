using Cairn.JepsenLite.History;

namespace Cairn.JepsenLite.Checkers;

/// <summary>
/// Linearizability of a register per key (read / write / compare-and-set), by the Wing &amp; Gong search with
/// Lowe's memoisation of (linearized set, state), partitioned by key as Porcupine does. An operation whose
/// outcome is unknown (info, or an invoke never completed) stays open to the end of the history: it may be
/// linearized anywhere after its invocation or never. A failed operation (fail) definitely had no effect and is
/// dropped. A cas whose compare failed (ok, succeeded=false) is an observation that the value differed.
/// </summary>
public static class LinearizabilityChecker
{
    /// <summary>One completed (or open) operation on a key.</summary>
    public sealed record Entry(int Id, Op Invoke, Op? Completion, long Call, long Return)
    {
        public bool Open => Completion == null || Completion.Type == OpType.Info;
        public string F => Invoke.F;
    }

    /// <param name="history">The history.</param>
    /// <param name="stateBudgetPerKey">Search steps per key before giving up with Unknown.</param>
    /// <param name="neverHappened">Optional: true for an unknown-outcome write known not to have taken effect (its unique
    /// value is absent from the verified committed history); such ops are dropped like fails, which keeps the search small.</param>
    public static CheckResult Check(IReadOnlyList<Op> history, long stateBudgetPerKey = 2_000_000, Func<Op, bool>? neverHappened = null)
    {
        var perKey = Pair(history, neverHappened);
        var problems = new List<string>();
        var unknown = new List<string>();
        int keys = 0, ops = 0;
        foreach (var (key, entries) in perKey.OrderBy(k => k.Key, StringComparer.Ordinal))
        {
            keys++;
            ops += entries.Count;
            var (validity, detail) = CheckKey(entries, stateBudgetPerKey);
            if (validity == Validity.Invalid)
            {
                problems.Add($"key {key}: not linearizable — {detail}");
            }
            else if (validity == Validity.Unknown)
            {
                unknown.Add($"key {key}: {detail}");
            }
        }
        var summary = $"{keys} keys, {ops} register ops";
        if (problems.Count > 0)
        {
            return new CheckResult("linearizable-register", Validity.Invalid, [.. problems, .. unknown], summary);
        }
        if (unknown.Count > 0)
        {
            return new CheckResult("linearizable-register", Validity.Unknown, unknown, summary + " (search budget exceeded)");
        }
        return CheckResult.Ok("linearizable-register", summary);
    }

    /// <summary>Pairs invokes with their completions (per process) and groups register ops by key; fails are dropped.</summary>
    public static Dictionary<string, List<Entry>> Pair(IReadOnlyList<Op> history, Func<Op, bool>? neverHappened = null)
    {
        var open = new Dictionary<int, Op>();
        var result = new Dictionary<string, List<Entry>>();
        int id = 0;
        void Add(Op inv, Op? done)
        {
            if (done is { Type: OpType.Fail })
            {
                return;
            }
            bool open = done == null || done.Type == OpType.Info;
            if (open && (inv.F == Fn.Read || (neverHappened?.Invoke(inv) ?? false)))
            {
                // An unfinished read observed nothing; a write known not to have happened did nothing.
                return;
            }
            var list = result.TryGetValue(inv.Key!, out var l) ? l : result[inv.Key!] = [];
            long ret = done == null || done.Type == OpType.Info ? long.MaxValue : done.TimeNs;
            list.Add(new Entry(id++, inv, done, inv.TimeNs, ret));
        }
        foreach (var op in history)
        {
            if (op.F is not (Fn.Read or Fn.Write or Fn.Cas))
            {
                continue;
            }
            if (op.Type == OpType.Invoke)
            {
                if (open.Remove(op.Process, out var prev))
                {
                    Add(prev, null);
                }
                open[op.Process] = op;
            }
            else if (open.Remove(op.Process, out var inv))
            {
                Add(inv, op);
            }
        }
        foreach (var inv in open.Values)
        {
            Add(inv, null);
        }
        return result;
    }

    /// <summary>Applies an op to a register state; false when the op's observed result is impossible from that state.</summary>
    public static bool Step(string? state, Entry e, out string? next)
    {
        next = state;
        var c = e.Completion;
        switch (e.F)
        {
            case Fn.Read:
                // An open read observed nothing; it can always be linearized.
                return e.Open || c!.Value == state;
            case Fn.Write:
                next = e.Invoke.Value;
                return true;
            case Fn.Cas:
                if (!e.Open && c!.Succeeded == false)
                {
                    return state != e.Invoke.Expected;
                }
                if (state != e.Invoke.Expected)
                {
                    return false;
                }
                next = e.Invoke.Value;
                return true;
            default:
                return false;
        }
    }

    private sealed class Node
    {
        public Entry Entry = null!;
        public bool IsCall;
        public long Time;
        public Node? Match;
        public Node? Prev, Next;
    }

    /// <summary>Checks one key; the state is the register value (null = absent, the initial state).</summary>
    public static (Validity, string) CheckKey(List<Entry> entries, long budget, string? initial = null)
    {
        if (entries.Count == 0)
        {
            return (Validity.Valid, "");
        }
        // Events: calls and returns sorted by time; on equal times calls first (treat as concurrent).
        var events = new List<Node>(entries.Count * 2);
        foreach (var e in entries)
        {
            var call = new Node { Entry = e, IsCall = true, Time = e.Call };
            var ret = new Node { Entry = e, IsCall = false, Time = e.Return };
            call.Match = ret;
            ret.Match = call;
            events.Add(call);
            events.Add(ret);
        }
        events.Sort((a, b) => a.Time != b.Time ? a.Time.CompareTo(b.Time) : (a.IsCall == b.IsCall ? a.Entry.Id.CompareTo(b.Entry.Id) : (a.IsCall ? -1 : 1)));
        var head = new Node();
        var cur0 = head;
        foreach (var n in events)
        {
            cur0.Next = n;
            n.Prev = cur0;
            cur0 = n;
        }
        // Index entries 0..n-1 for the bitset.
        var index = new Dictionary<int, int>();
        for (int i = 0; i < entries.Count; i++)
        {
            index[entries[i].Id] = i;
        }
        var linearized = new Bits(entries.Count);
        var cache = new HashSet<(Bits, string?)>();
        var stack = new Stack<(Node Call, string? State)>();
        string? state = initial;
        long steps = 0;
        int deepest = -1;
        Entry? stuckAt = null;
        string? stuckState = null;
        var node = head.Next;
        while (node != null)
        {
            if (++steps > budget)
            {
                return (Validity.Unknown, $"gave up after {budget} search steps ({entries.Count} ops)");
            }
            if (node.IsCall)
            {
                if (Step(state, node.Entry, out var next))
                {
                    var bits = linearized.With(index[node.Entry.Id]);
                    if (cache.Add((bits, next)))
                    {
                        stack.Push((node, state));
                        state = next;
                        linearized = bits;
                        Lift(node);
                        node = head.Next;
                        continue;
                    }
                }
                node = node.Next;
            }
            else
            {
                if (node.Entry.Open)
                {
                    // Only open (unknown) operations remain unreturned: they may simply not have happened.
                    return (Validity.Valid, "");
                }
                if (stack.Count > deepest)
                {
                    deepest = stack.Count;
                    stuckAt = node.Entry;
                    stuckState = state;
                }
                if (stack.Count == 0)
                {
                    break;
                }
                var (call, prevState) = stack.Pop();
                state = prevState;
                linearized = linearized.Without(index[call.Entry.Id]);
                Unlift(call);
                node = call.Next;
            }
        }
        if (node == null)
        {
            return (Validity.Valid, "");
        }
        var op = stuckAt!;
        return (Validity.Invalid,
            $"after linearizing {deepest} ops (state {stuckState ?? "nil"}), no order explains {op.Invoke} → {op.Completion}; " +
            $"ops concurrent with it: {string.Join("; ", entries.Where(x => x != op && x.Call < op.Return && x.Return > op.Call).Take(6).Select(x => $"{x.Invoke} → {(x.Completion?.ToString() ?? "open")}"))}");
    }

    private static void Lift(Node call)
    {
        call.Prev!.Next = call.Next;
        if (call.Next != null) call.Next.Prev = call.Prev;
        var ret = call.Match!;
        ret.Prev!.Next = ret.Next;
        if (ret.Next != null) ret.Next.Prev = ret.Prev;
    }

    private static void Unlift(Node call)
    {
        var ret = call.Match!;
        ret.Prev!.Next = ret;
        if (ret.Next != null) ret.Next.Prev = ret;
        call.Prev!.Next = call;
        if (call.Next != null) call.Next.Prev = call;
    }

    /// <summary>Immutable bitset with value equality.</summary>
    private sealed class Bits : IEquatable<Bits>
    {
        private readonly ulong[] _w;
        private readonly int _hash;

        public Bits(int n) : this(new ulong[(n + 63) / 64]) { }

        private Bits(ulong[] w)
        {
            _w = w;
            var h = new HashCode();
            foreach (var x in w) h.Add(x);
            _hash = h.ToHashCode();
        }

        public Bits With(int i)
        {
            var w = (ulong[])_w.Clone();
            w[i >> 6] |= 1UL << (i & 63);
            return new Bits(w);
        }

        public Bits Without(int i)
        {
            var w = (ulong[])_w.Clone();
            w[i >> 6] &= ~(1UL << (i & 63));
            return new Bits(w);
        }

        public bool Equals(Bits? other) => other != null && other._hash == _hash && _w.AsSpan().SequenceEqual(other._w);
        public override bool Equals(object? obj) => Equals(obj as Bits);
        public override int GetHashCode() => _hash;
    }
}
