using Etcdserverpb;
using Mvccpb;

namespace Cairn.Watch.Tests.Infra;

/// <summary>A broken watch guarantee.</summary>
public sealed class WatchViolation(string guarantee, string detail) : Exception($"{guarantee}: {detail}")
{
    public string Guarantee { get; } = guarantee;
}

/// <summary>
/// Checks the responses of one watch against etcd's watch guarantees (ordered, unique, atomic,
/// reliable, bookmarkable, prev_kv, is-create, filter) given the events it should have delivered.
/// </summary>
public static class WatchChecker
{
    /// <param name="responses">Every response of the watch, in arrival order (created/canceled ones are skipped).</param>
    /// <param name="expected">Every event the watch must deliver, in order (from its start revision on).</param>
    /// <param name="complete">Require all of <paramref name="expected"/> to have been delivered.</param>
    /// <param name="expectedPrev">When the watch asked for prev_kv: the correct previous value of an event (null: none).</param>
    public static void Check(IReadOnlyList<WatchResponse> responses, IReadOnlyList<Event> expected, bool complete = true,
        Func<Event, KeyValue?>? expectedPrev = null, bool noPut = false, bool noDelete = false)
    {
        var delivered = new List<Event>();
        var seen = new HashSet<(long, string)>();
        long lastRev = 0;
        long lastResponseRev = -1; // revision of the last event of the previous response
        bool previousWasFragment = false;
        foreach (var r in responses)
        {
            if (r.Created || r.Canceled) continue;
            if (r.Events.Count == 0)
            {
                if (previousWasFragment) throw new WatchViolation("atomic", "progress response inside a fragmented response");
                // Progress notification at r: everything <= r must be in already.
                long bookmark = r.Header.Revision;
                int due = 0;
                while (due < expected.Count && expected[due].Kv.ModRevision <= bookmark) due++;
                if (delivered.Count < due)
                    throw new WatchViolation("bookmarkable", $"progress at {bookmark} but only {delivered.Count} of {due} events <= {bookmark} delivered");
                continue;
            }
            bool first = true;
            foreach (var ev in r.Events)
            {
                long rev = ev.Kv.ModRevision;
                string key = ev.Kv.Key.ToStringUtf8();
                if (!seen.Add((rev, key))) throw new WatchViolation("unique", $"event {key}@{rev} delivered twice");
                if (rev < lastRev) throw new WatchViolation("ordered", $"revision {rev} after {lastRev}");
                if (first && !previousWasFragment && rev == lastResponseRev)
                    throw new WatchViolation("atomic", $"revision {rev} split across responses");
                first = false;
                lastRev = rev;
                if (noPut && ev.Type == Event.Types.EventType.Put) throw new WatchViolation("filter", $"PUT {key}@{rev} despite NOPUT");
                if (noDelete && ev.Type == Event.Types.EventType.Delete) throw new WatchViolation("filter", $"DELETE {key}@{rev} despite NODELETE");
                if (ev.Type == Event.Types.EventType.Put && (ev.Kv.CreateRevision == ev.Kv.ModRevision) != (ev.Kv.Version == 1))
                    throw new WatchViolation("is-create", $"{key}@{rev}: create_revision {ev.Kv.CreateRevision}, version {ev.Kv.Version}");
                if (expectedPrev is null)
                {
                    if (ev.PrevKv is not null) throw new WatchViolation("prev_kv", $"{key}@{rev} has prev_kv but none was asked");
                }
                else
                {
                    var want = expectedPrev(ev);
                    if (!Equals(want, ev.PrevKv)) throw new WatchViolation("prev_kv", $"{key}@{rev}: prev_kv {ev.PrevKv} want {want}");
                }
                int i = delivered.Count;
                if (i >= expected.Count) throw new WatchViolation("reliable", $"unexpected extra event {key}@{rev}");
                if (!SameEvent(expected[i], ev))
                {
                    string why = expected[i].Kv.ModRevision < rev ? $"gap: expected {Describe(expected[i])} before {Describe(ev)}" : $"got {Describe(ev)} want {Describe(expected[i])}";
                    throw new WatchViolation("reliable", why);
                }
                delivered.Add(ev);
            }
            lastResponseRev = r.Events[^1].Kv.ModRevision;
            // Atomic: the whole revision must be in this response unless it continues in a fragment.
            if (!r.Fragment && delivered.Count < expected.Count && expected[delivered.Count].Kv.ModRevision == lastResponseRev)
                throw new WatchViolation("atomic", $"revision {lastResponseRev} split: response ended before {Describe(expected[delivered.Count])}");
            previousWasFragment = r.Fragment;
        }
        if (previousWasFragment) throw new WatchViolation("atomic", "last response still marked fragment");
        if (complete && delivered.Count != expected.Count)
            throw new WatchViolation("reliable", $"delivered {delivered.Count} of {expected.Count} events; next missing {Describe(expected[delivered.Count])}");
    }

    public static bool SameEvent(Event want, Event got)
    {
        if (want.Type != got.Type || want.Kv.Key != got.Kv.Key || want.Kv.ModRevision != got.Kv.ModRevision) return false;
        if (want.Type == Event.Types.EventType.Delete) return true;
        return want.Kv.Value == got.Kv.Value && want.Kv.CreateRevision == got.Kv.CreateRevision && want.Kv.Version == got.Kv.Version;
    }

    private static string Describe(Event e) => $"{e.Type} {e.Kv.Key.ToStringUtf8()}@{e.Kv.ModRevision}";
}
