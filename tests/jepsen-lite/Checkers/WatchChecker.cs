using Cairn.JepsenLite.History;

namespace Cairn.JepsenLite.Checkers;

/// <summary>
/// Checks every watcher against the committed history. A watcher process records watch-start (start revision, key
/// range, filters, prev_kv), then one watch-event record per response (its events, header revision) and progress
/// records, then watch-end (error, compact revision). Per session: ordered, unique, atomic (a revision's events are
/// delivered whole, in one response), reliable (no gap between the start revision and the last revision delivered),
/// resumable (nothing below the start revision), bookmarkable (progress at r ⇒ every matching event ≤ r already
/// delivered, and none ≤ r afterwards), prev_kv (may be absent only when mod_revision - 1 was compacted, as etcd does), is-create (create_revision/version), filters. Across sessions of
/// one watcher: a resume starts at last delivered + 1 unless the previous session ended on compaction.
/// <para>Client watchers (watch-start with <c>client</c>: the C# client, which fails over between members by itself)
/// are one session per watch however often the client moved: every batch names the member that carried it, so a
/// duplicate or a gap "across a resume" is a duplicate or a gap inside the session, reported with the members involved.
/// A client watch from "now" (start revision 0) starts at its watch-created record's header revision + 1. A client watch
/// ended by compaction must have been compacted past its resume point (last delivered or notified revision + 1, which
/// the client reports too) and is checked only up to there; any other client watch must have caught up with the final
/// Range's revision (delivered every committed event up to it) by the end of the run.</para>
/// </summary>
public static class WatchChecker
{
    /// <summary>Problems kept per watcher process (the rest are counted in one line).</summary>
    private const int PerWatcherProblems = 3;

    public static CheckResult Check(IReadOnlyList<Op> history, CommittedHistory committed)
    {
        var problems = new List<string>();
        int sessions = 0, events = 0, progress = 0;
        // Compactions: (time the nemesis started it, revision). etcd (v3rpc sendLoop) fills prev_kv by a Range at
        // mod_revision - 1 and leaves it out when that revision is compacted, so a missing prev_kv is allowed then.
        var compactions = new List<(long Time, long Rev)>();
        long lastCompactStart = 0;
        foreach (var o in history)
        {
            if (o.F == Fn.Nemesis && o.Type == OpType.Invoke && o.Key == Fn.Compact) lastCompactStart = o.TimeNs;
            if (o.F == Fn.Compact && o.Revision is { } cr) compactions.Add((Math.Min(lastCompactStart, o.TimeNs), cr));
        }
        // Compaction at C drops a tombstone at exactly C (etcd's keyIndex.compact removes a generation left with only its
        // tombstone), so a watch from ≤ C after compaction to C never sees a DELETE at revision C — Cairn and etcd alike.
        bool TombstoneCompacted((long Rev, List<Ev> Evs) at, long time) =>
            at.Evs.All(e => e.Type == "DELETE") && compactions.Any(c => c.Rev == at.Rev && c.Time <= time);
        long? finalRevision = history.LastOrDefault(o => o.F == CommittedHistory.FinalStateF)?.Revision;
        foreach (var group in history.Where(o => o.F is Fn.WatchStart or Fn.WatchCreated or Fn.WatchEvent or Fn.Progress or Fn.WatchEnd).GroupBy(o => o.Process))
        {
            Op? session = null, lastSession = null;
            List<(long Rev, List<Ev> Evs)> expected = [];
            int ptr = 0;
            long lastDelivered = 0, lastProgress = 0, watcherLast = 0, sessionStart = 1;
            bool prevEndedCompacted = false, first = true, isClient = false;
            string? lastMember = null;
            int p = group.Key, problemsBefore = problems.Count;
            foreach (var op in group)
            {
                switch (op.F)
                {
                    case Fn.WatchStart:
                        sessions++;
                        if (!first && !prevEndedCompacted && watcherLast > 0 && op.StartRevision > watcherLast + 1)
                        {
                            problems.Add($"watcher p{p}: resumed at revision {op.StartRevision} after delivering up to {watcherLast} — revisions skipped");
                        }
                        first = false;
                        prevEndedCompacted = false;
                        session = lastSession = op;
                        isClient |= op.Client == true;
                        // A client watch from "now" (0) expects nothing until its created notification fixes the start.
                        expected = op.StartRevision == 0 ? [] : Expected(committed, op, op.StartRevision ?? 1);
                        ptr = 0;
                        sessionStart = op.StartRevision ?? 1;
                        lastDelivered = Math.Max(0, sessionStart - 1);
                        lastProgress = 0;
                        lastMember = null;
                        break;
                    case Fn.WatchCreated when session != null:
                        if (session.StartRevision == 0 && lastDelivered == 0 && op.Revision is { } createdAt)
                        {
                            expected = Expected(committed, session, createdAt + 1);
                            ptr = 0;
                            lastDelivered = createdAt;
                            sessionStart = createdAt + 1;
                        }
                        break;
                    case Fn.WatchEvent when session != null:
                        events += op.Events?.Count ?? 0;
                        if (session.StartRevision == 0 && lastDelivered == 0)
                        {
                            problems.Add($"watcher p{p}: events delivered before the created notification of a watch from \"now\" fixed its start: {string.Join(", ", op.Events ?? [])}");
                        }
                        foreach (var g in (op.Events ?? []).GroupBy(e => e.ModRevision))
                        {
                            long r = g.Key;
                            var got = g.ToList();
                            string where = Where(p, session, op, lastMember);
                            if (r <= lastDelivered)
                            {
                                bool splitOrDup = r == lastDelivered && r >= sessionStart;
                                problems.Add(splitOrDup
                                    ? $"{where}: revision {r} delivered again in a later response (duplicate or split revision): {string.Join(", ", got)}"
                                    : $"{where}: event at revision {r} after revision {lastDelivered} (out of order, duplicate or below the start revision): {string.Join(", ", got)}");
                                continue;
                            }
                            if (r <= lastProgress)
                            {
                                problems.Add($"{where}: event at revision {r} after a progress notification at {lastProgress}");
                            }
                            while (ptr < expected.Count && expected[ptr].Rev < r)
                            {
                                if (TombstoneCompacted(expected[ptr], op.TimeNs))
                                {
                                    ptr++;
                                    continue;
                                }
                                problems.Add($"{where}: missed committed events at revision {expected[ptr].Rev} ({string.Join(", ", expected[ptr].Evs)}) — gap before revision {r}");
                                ptr++;
                            }
                            if (ptr >= expected.Count || expected[ptr].Rev != r)
                            {
                                problems.Add($"{where}: delivered {string.Join(", ", got)} at revision {r} which the committed history does not have for this watch " +
                                    $"(committed: {string.Join(", ", committed.At(r) ?? [])})");
                                lastDelivered = r;
                                continue;
                            }
                            long at = op.TimeNs;
                            CompareRevision(problems, where, session, got, expected[ptr].Evs, e => compactions.Any(c => c.Time <= at && e.ModRevision - 1 < c.Rev));
                            ptr++;
                            lastDelivered = r;
                            watcherLast = r;
                        }
                        if (op.Revision is { } hdr && op.Events is { Count: > 0 } && hdr < op.Events.Max(e => e.ModRevision))
                        {
                            problems.Add($"watcher p{p}: response header revision {hdr} below its events' revision {op.Events.Max(e => e.ModRevision)}");
                        }
                        lastMember = op.Member ?? lastMember;
                        break;
                    case Fn.Progress when session != null:
                        progress++;
                        long pr = op.Revision ?? 0;
                        while (ptr < expected.Count && expected[ptr].Rev <= pr && TombstoneCompacted(expected[ptr], op.TimeNs)) ptr++;
                        if (ptr < expected.Count && expected[ptr].Rev <= pr)
                        {
                            problems.Add($"{Where(p, session, op, lastMember)}: progress notification at revision {pr} but committed event(s) at revision {expected[ptr].Rev} " +
                                $"({string.Join(", ", expected[ptr].Evs)}) not delivered — bookmark lies");
                        }
                        lastProgress = Math.Max(lastProgress, pr);
                        lastMember = op.Member ?? lastMember;
                        break;
                    case Fn.WatchEnd when session != null:
                        prevEndedCompacted = op.CompactRevision is > 0;
                        if (prevEndedCompacted && !compactions.Any(c => c.Time <= op.TimeNs && c.Rev >= op.CompactRevision))
                        {
                            // A member must not lose history nobody compacted (e.g. one rebuilt from a snapshot).
                            problems.Add($"watcher p{p} on {session.Member}: cancelled as compacted at revision {op.CompactRevision} but no compaction " +
                                $"that far had been requested ({(compactions.Count == 0 ? "none" : "up to " + compactions.Where(c => c.Time <= op.TimeNs).Select(c => c.Rev).DefaultIfEmpty(0).Max())})");
                        }
                        if (prevEndedCompacted && session.Client == true)
                        {
                            // Etcd cancels a watch as compacted only when the revision it needs next is below the compaction.
                            long resume = Math.Max(lastDelivered, lastProgress) + 1;
                            if (op.CompactRevision <= resume)
                            {
                                problems.Add($"{Where(p, session, op, lastMember)}: ended as compacted at revision {op.CompactRevision} though its resume point {resume} was still there");
                            }
                            if (op.Revision is { } needed && needed != resume)
                            {
                                problems.Add($"{Where(p, session, op, lastMember)}: the client says it needed revision {needed} when compacted, but it had delivered through {resume - 1}");
                            }
                        }
                        if (prevEndedCompacted)
                        {
                            watcherLast = Math.Max(watcherLast, op.CompactRevision!.Value - 1);
                        }
                        else if (lastDelivered > watcherLast)
                        {
                            watcherLast = lastDelivered;
                        }
                        session = null;
                        break;
                }
            }
            if (isClient && finalRevision is { } fin && !prevEndedCompacted)
            {
                CheckCaughtUp(problems, p, lastSession, expected, ptr, fin, lastDelivered, at => TombstoneCompacted(at, long.MaxValue));
            }
            // One wrong bookmark makes every later event of the watcher a problem too; keep a few per watcher so the
            // report (first 20 problems) still shows every watcher that has any.
            int mine = problems.Count - problemsBefore;
            if (mine > PerWatcherProblems)
            {
                problems.RemoveRange(problemsBefore + PerWatcherProblems, mine - PerWatcherProblems);
                problems.Add($"watcher p{p}: {mine - PerWatcherProblems} more problems");
            }
        }
        return CheckResult.From("watch", problems, $"{sessions} watch sessions, {events} events, {progress} progress notifications");
    }

    /// <summary>
    /// A client watcher must end the run having delivered every committed event of its key set up to the final Range's
    /// revision: it runs until then, so anything short of it is a watch the client lost on a failover.
    /// </summary>
    private static void CheckCaughtUp(List<string> problems, int p, Op? last, List<(long Rev, List<Ev> Evs)> expected, int ptr, long final,
        long lastDelivered, Func<(long Rev, List<Ev> Evs), bool> tombstoneCompacted)
    {
        if (last is { StartRevision: 0 } && lastDelivered == 0)
        {
            problems.Add($"client watcher p{p}: its watch from \"now\" was never created (no created notification by the end of the run)");
            return;
        }
        while (ptr < expected.Count && expected[ptr].Rev <= final && tombstoneCompacted(expected[ptr])) ptr++;
        if (ptr < expected.Count && expected[ptr].Rev <= final)
        {
            problems.Add($"client watcher p{p}: never delivered the committed event(s) at revision {expected[ptr].Rev} ({string.Join(", ", expected[ptr].Evs)}) " +
                $"though it ran until the final revision {final} (delivered through {lastDelivered}) — lost on a failover or stuck");
        }
    }

    /// <summary>How a problem names the watcher: its member (for a client watcher, the member of this record, and the previous one when it moved).</summary>
    private static string Where(int p, Op session, Op op, string? lastMember)
    {
        var member = op.Member ?? lastMember ?? session.Member;
        var moved = session.Client == true && lastMember != null && op.Member != null && op.Member != lastMember ? $" (resumed there after {lastMember})" : "";
        var kind = session.Client == true ? $"client watcher p{p}{(session.RequireLeader == true ? " require-leader" : "")}" : $"watcher p{p}";
        return $"{kind} on {member}{moved} (start {session.StartRevision}, {Describe(session)})";
    }

    private static string Describe(Op s) =>
        $"key {s.Key}{(string.IsNullOrEmpty(s.RangeEnd) ? "" : $"..{(s.RangeEnd == "\0" ? "∞" : s.RangeEnd)}")}{(s.NoPut == true ? " noput" : "")}{(s.NoDelete == true ? " nodelete" : "")}{(s.PrevKv == true ? " prev_kv" : "")}";

    public static bool Matches(Op s, Ev e)
    {
        if (s.NoPut == true && e.Type == "PUT") return false;
        if (s.NoDelete == true && e.Type == "DELETE") return false;
        var key = s.Key ?? "";
        if (string.IsNullOrEmpty(s.RangeEnd)) return e.Key == key;
        if (string.CompareOrdinal(e.Key, key) < 0) return false;
        return s.RangeEnd == "\0" || string.CompareOrdinal(e.Key, s.RangeEnd) < 0;
    }

    private static List<(long, List<Ev>)> Expected(CommittedHistory committed, Op s, long start)
    {
        var list = new List<(long, List<Ev>)>();
        foreach (var (rev, evs) in committed.ByRevision)
        {
            if (rev < start) continue;
            var m = evs.Where(e => Matches(s, e)).ToList();
            if (m.Count > 0) list.Add((rev, m));
        }
        return list;
    }

    private static void CompareRevision(List<string> problems, string where, Op session, List<Ev> got, List<Ev> want, Func<Ev, bool> prevCompacted)
    {
        if (got.Count != want.Count)
        {
            problems.Add($"{where}: revision {got[0].ModRevision} delivered {got.Count} of {want.Count} events ({string.Join(", ", got)} vs {string.Join(", ", want)}) — revision split or events dropped");
        }
        var seen = new HashSet<string>();
        foreach (var g in got)
        {
            if (!seen.Add(g.Key + "\u0001" + g.Type))
            {
                problems.Add($"{where}: duplicate event {g}");
                continue;
            }
            var w = want.FirstOrDefault(x => x.Key == g.Key && x.Type == g.Type);
            if (w == null)
            {
                problems.Add($"{where}: event {g} not committed at that revision (committed: {string.Join(", ", want)})");
                continue;
            }
            if (g.Type == "PUT" && (g.Value != w.Value || g.CreateRevision != w.CreateRevision || g.Version != w.Version))
            {
                problems.Add($"{where}: event {g} differs from committed {w}" + (g.CreateRevision != w.CreateRevision || g.Version != w.Version ? " (is-create / version wrong)" : ""));
            }
            if (session.PrevKv == true)
            {
                bool missingAllowed = !g.HasPrev && w.HasPrev && prevCompacted(g);
                if (!missingAllowed && (g.HasPrev != w.HasPrev || (g.HasPrev && g.PrevValue != w.PrevValue)))
                {
                    problems.Add($"{where}: event {g} has wrong prev_kv (want {(w.HasPrev ? w.PrevValue : "none")})");
                }
            }
            else if (g.HasPrev)
            {
                problems.Add($"{where}: event {g} carries prev_kv though the watch did not ask for it");
            }
        }
    }
}
