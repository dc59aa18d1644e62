using System.Globalization;

namespace Cairn.Bench;

/// <summary>
/// The watch-resume workload's figures for one variant, accumulated over its trials: per watcher,
/// kill → break detected, kill → first event after the resume and the event gap across the kill,
/// plus the exactly-once check. Percentiles are over every watcher of every trial.
/// </summary>
internal sealed class ResumeResult
{
    private readonly Latencies _break = new(1);
    private readonly Latencies _resume = new(1);
    private readonly Latencies _gap = new(1);
    private readonly Latencies _fresh = new(1);
    private readonly List<string> _violations = [];
    private int _trials;
    private int _notResumed;
    private int _resumedWithBacklog;
    private int _resumedInOldTerm;
    private long _events;
    private long _missed;
    private long _duplicated;
    private long _outOfOrder;
    private long _unexpected;
    private long _failedAttempts;
    private long _putsOk;
    private long _putsFailed;

    /// <param name="variant">"follower" or "leader": which member was watched and killed.</param>
    /// <param name="watchers">Watchers per trial.</param>
    public ResumeResult(string variant, int watchers)
    {
        Variant = variant;
        Watchers = watchers;
    }

    /// <summary>"follower" or "leader".</summary>
    public string Variant { get; }

    /// <summary>Watchers per trial.</summary>
    public int Watchers { get; }

    /// <summary>Descriptions of every watcher that missed, duplicated, reordered or never resumed events.</summary>
    public IReadOnlyList<string> Violations => _violations;

    /// <summary>Counts one put of the writer (puts complete concurrently).</summary>
    public void CountPut(bool ok) => Interlocked.Increment(ref ok ? ref _putsOk : ref _putsFailed);

    /// <summary>Adds one trial's watchers, measured against the kill at <paramref name="killAt"/> (Stopwatch timestamp).</summary>
    public void Add(long killAt, IReadOnlyList<ResumingWatcher> watchers, IReadOnlyCollection<long> written, bool allResumed)
    {
        _trials++;
        for (var i = 0; i < watchers.Count; i++)
        {
            var w = watchers[i];
            var check = DeliveryCheck.Compare(w.Revisions, written);
            _events += check.Delivered;
            _missed += check.Missed;
            _duplicated += check.Duplicated;
            _outOfOrder += check.OutOfOrder;
            _unexpected += check.Unexpected;
            _failedAttempts += w.FailedAttempts;
            var label = string.Create(CultureInfo.InvariantCulture, $"{Variant} trial {_trials} watcher {i}");
            if (!check.Ok)
                _violations.Add($"{label}: {check}");
            if (w.BreakAt != 0)
                _break.Add(0, killAt, w.BreakAt);
            if (w.FirstAfterResumeAt == 0)
            {
                _notResumed++;
                _violations.Add($"{label}: no event after the kill{(w.BreakAt == 0 ? " (the break was never seen)" : "")}");
                continue;
            }

            _resume.Add(0, killAt, w.FirstAfterResumeAt);
            if (w.FirstFreshAt != 0)
                _fresh.Add(0, killAt, w.FirstFreshAt);
            if (w.FirstRevisionAfterResume <= w.CommittedAtKill)
                _resumedWithBacklog++;
            if (w.FirstTermAfterResume == w.TermAtStart)
                _resumedInOldTerm++;
            if (w.LastBeforeBreakAt != 0)
                _gap.Add(0, w.LastBeforeBreakAt, w.FirstAfterResumeAt);
        }

        if (!allResumed && _notResumed == 0)
            _violations.Add($"{Variant} trial {_trials}: a watcher got fewer than 50 events after resuming within 30 s");
    }

    /// <summary>The figures for the run's JSON (times in ms; <see cref="Report"/> reads them).</summary>
    public object ToJson()
    {
        var (b, r, g, f) = (Summary(_break), Summary(_resume), Summary(_gap), Summary(_fresh));
        return new
        {
            Kind = "watch-resume",
            Variant,
            Trials = _trials,
            Watchers,
            WriteIntervalMs = 5,
            BreakP50Ms = b.P50Ms,
            BreakP99Ms = b.P99Ms,
            ResumeP50Ms = r.P50Ms,
            ResumeP99Ms = r.P99Ms,
            GapP50Ms = g.P50Ms,
            GapP99Ms = g.P99Ms,
            FreshP50Ms = f.P50Ms,
            FreshP99Ms = f.P99Ms,
            ResumedWithBacklog = _resumedWithBacklog,
            ResumedInOldTerm = _resumedInOldTerm,
            Samples = r.Ops,
            Events = _events,
            Missed = _missed,
            Duplicated = _duplicated,
            OutOfOrder = _outOfOrder,
            Unexpected = _unexpected,
            NotResumed = _notResumed,
            Violations = _violations.Count,
            FailedResumeAttempts = _failedAttempts,
            PutsOk = _putsOk,
            PutsFailed = _putsFailed,
        };
    }

    /// <summary>One console line, like the other workloads'.</summary>
    public string Describe(string target)
    {
        var (b, r, g, f) = (Summary(_break), Summary(_resume), Summary(_gap), Summary(_fresh));
        return string.Create(CultureInfo.InvariantCulture,
            $"{target,-6} watch-resume-{Variant,-9} {_trials} trials x {Watchers} watchers: kill->break p50 {b.P50Ms:F1} / p99 {b.P99Ms:F1} ms, kill->first event p50 {r.P50Ms:F1} / p99 {r.P99Ms:F1} ms, gap p50 {g.P50Ms:F1} / p99 {g.P99Ms:F1} ms, kill->first event committed after it p50 {f.P50Ms:F1} / p99 {f.P99Ms:F1} ms ({_resumedWithBacklog} resumed with a backlog, {_resumedInOldTerm} got their first event in the old term); {_events} events, {_missed} missed, {_duplicated} duplicated, {_outOfOrder} out of order, {_notResumed} not resumed; puts {_putsOk} ok / {_putsFailed} failed");
    }

    // The elapsed time only feeds the (unused) rate.
    private static Summary Summary(Latencies l) => l.Summarise(TimeSpan.FromSeconds(1));
}
