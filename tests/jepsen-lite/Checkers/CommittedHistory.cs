using Cairn.JepsenLite.History;

namespace Cairn.JepsenLite.Checkers;

/// <summary>
/// The committed history read back at the end of a run: every event from an archive watch (records with
/// f = "archive", one per revision) replayed into a key/value model, validated for internal consistency
/// (contiguous revisions, create_revision/version bookkeeping, prev_kv), and cross-checked against a final
/// Range of every key (a record with f = "final-state"). Other checkers compare what clients saw against it.
/// </summary>
public sealed class CommittedHistory
{
    public const string ArchiveF = "archive", FinalStateF = "final-state";

    private readonly SortedDictionary<long, List<Ev>> _byRev = [];

    /// <summary>Events with their correct prev (HasPrev/PrevValue filled from the replay), by revision.</summary>
    public IReadOnlyDictionary<long, List<Ev>> ByRevision => _byRev;

    public long FirstRevision { get; private set; }
    public long LastRevision { get; private set; }
    public List<string> Problems { get; } = [];
    public Dictionary<string, Ev> FinalState { get; } = new(StringComparer.Ordinal);

    public static CommittedHistory FromHistory(IReadOnlyList<Op> history)
    {
        var archive = history.Where(o => o.F == ArchiveF).ToList();
        var ch = new CommittedHistory();
        var start = archive.Select(a => a.StartRevision).FirstOrDefault(s => s != null) ?? 1;
        ch.Build(archive.SelectMany(a => a.Events ?? []).ToList(), start);
        var final = history.LastOrDefault(o => o.F == FinalStateF);
        if (final != null)
        {
            ch.CompareFinal(final.Events ?? [], final.Revision ?? ch.LastRevision);
        }
        else
        {
            ch.Problems.Add("no final-state record: cannot cross-check the archive");
        }
        return ch;
    }

    private void Build(List<Ev> events, long start)
    {
        var state = new Dictionary<string, Ev>(StringComparer.Ordinal);
        long last = start;
        FirstRevision = start;
        foreach (var e in events)
        {
            if (e.ModRevision < last)
            {
                Problems.Add($"archive: event {e} goes back from revision {last}");
                continue;
            }
            if (e.ModRevision > last + 1 && last >= start && e.ModRevision != start)
            {
                // Revision 1 is the empty initial store; afterwards every revision holds at least one event.
                Problems.Add($"archive: revisions {last + 1}..{e.ModRevision - 1} missing (no events)");
            }
            last = e.ModRevision;
            state.TryGetValue(e.Key, out var before);
            if (e.HasPrev && before == null)
            {
                Problems.Add($"archive: {e} carries a prev_kv but the key did not exist");
            }
            else if (e.HasPrev && e.PrevValue != before!.Value)
            {
                Problems.Add($"archive: {e} prev_kv {e.PrevValue} but the value was {before.Value}");
            }
            else if (!e.HasPrev && before != null && start <= 1)
            {
                Problems.Add($"archive: {e} lacks the prev_kv {before.Value}");
            }
            var fixedEv = new Ev
            {
                Type = e.Type, Key = e.Key, Value = e.Value, ModRevision = e.ModRevision, CreateRevision = e.CreateRevision,
                Version = e.Version, HasPrev = before != null, PrevValue = before?.Value,
            };
            if (e.Type == "PUT")
            {
                long wantCreate = before?.CreateRevision ?? e.ModRevision, wantVersion = (before?.Version ?? 0) + 1;
                if (e.CreateRevision != wantCreate || e.Version != wantVersion)
                {
                    Problems.Add($"archive: {e} should have create_revision {wantCreate} version {wantVersion}");
                }
                state[e.Key] = fixedEv;
            }
            else
            {
                if (before == null)
                {
                    Problems.Add($"archive: {e} deletes a key that did not exist");
                }
                state.Remove(e.Key);
            }
            (_byRev.TryGetValue(e.ModRevision, out var l) ? l : _byRev[e.ModRevision] = []).Add(fixedEv);
        }
        LastRevision = last;
        foreach (var (k, v) in state)
        {
            FinalState[k] = v;
        }
    }

    private void CompareFinal(List<Ev> final, long rev)
    {
        if (rev != LastRevision && _byRev.Count > 0 && rev < LastRevision)
        {
            Problems.Add($"final Range at revision {rev} is older than the archive's last revision {LastRevision}");
        }
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var kv in final)
        {
            seen.Add(kv.Key);
            if (!FinalState.TryGetValue(kv.Key, out var want))
            {
                Problems.Add($"final Range has {kv} but the archive ends with the key absent");
            }
            else if (want.Value != kv.Value || want.ModRevision != kv.ModRevision || want.CreateRevision != kv.CreateRevision || want.Version != kv.Version)
            {
                Problems.Add($"final Range has {kv} but the archive ends with {want}");
            }
        }
        foreach (var k in FinalState.Keys.Where(k => !seen.Contains(k)))
        {
            Problems.Add($"archive ends with {FinalState[k]} but the final Range does not have the key");
        }
    }

    public CheckResult Result() => CheckResult.From("committed-history", Problems,
        $"revisions {FirstRevision}..{LastRevision}, {_byRev.Values.Sum(l => l.Count)} events, {FinalState.Count} live keys");

    /// <summary>Events at a revision, or null when none.</summary>
    public List<Ev>? At(long rev) => _byRev.TryGetValue(rev, out var l) ? l : null;
}
