using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Cairn.Bench;

/// <summary>Merges run results into one markdown table: each workload, each target, and Cairn/etcd ratios.</summary>
internal static class Report
{
    public static int Write(Dictionary<string, string> options)
    {
        var runs = options["files"].Split(',', StringSplitOptions.RemoveEmptyEntries)
            .Select(f => JsonDocument.Parse(File.ReadAllText(f)).RootElement)
            .ToList();
        // Several runs of one target (alternation): keep the median ops/s per workload.
        var byTarget = runs.GroupBy(r => r.GetProperty("target").GetString()!).ToDictionary(g => g.Key, g => g.ToList());
        var sb = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        sb.AppendLine($"Machine: {Environment.ProcessorCount} cores, {Environment.OSVersion}, .NET {Environment.Version}; {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC.");
        sb.AppendLine("Each figure is the median over the runs of that target (runs alternate etcd / Cairn). Every run starts fresh members and first runs each workload once at a tenth of its size, discarded (warm-up: Cairn's tiered JIT; etcd is compiled ahead of time).");
        sb.AppendLine();
        sb.AppendLine("| workload | etcd ops/s | Cairn ops/s | ratio | etcd p50 / p99 ms | Cairn p50 / p99 ms | etcd RSS MiB | Cairn RSS MiB |");
        sb.AppendLine("|---|---:|---:|---:|---|---|---|---|");
        var workloads = runs.SelectMany(r => r.GetProperty("results").EnumerateObject())
            .Where(p => p.Value.ValueKind == JsonValueKind.Object && p.Value.TryGetProperty("OpsPerSecond", out _)).Select(p => p.Name).Distinct();
        foreach (var w in workloads)
        {
            var e = Median(byTarget, "etcd", w);
            var c = Median(byTarget, "cairn", w);
            var ratio = e is not null && c is not null && e.Value.Ops > 0 ? (c.Value.Ops / e.Value.Ops).ToString("F2", inv) + "×" : "-";
            sb.AppendLine(inv, $"| {w} | {Fmt(e?.Ops)} | {Fmt(c?.Ops)} | {ratio} | {Lat(e)} | {Lat(c)} | {e?.Rss ?? "-"} | {c?.Rss ?? "-"} |");
        }

        var idleE = Idle(byTarget, "etcd");
        var idleC = Idle(byTarget, "cairn");
        sb.AppendLine(inv, $"| idle watcher (bytes of RSS each) | {idleE} | {idleC} | | | | | |");
        ResumeRows(sb, runs, byTarget);
        File.WriteAllText(options["out"], sb.ToString());
        Console.WriteLine(sb.ToString());
        return 0;
    }

    private record struct Row(double Ops, double P50, double P99, string Rss);

    private static Row? Median(Dictionary<string, List<JsonElement>> byTarget, string target, string workload)
    {
        if (!byTarget.TryGetValue(target, out var runs))
            return null;
        var rows = runs.Select(r => r.GetProperty("results").TryGetProperty(workload, out var v) ? v : default)
            .Where(v => v.ValueKind == JsonValueKind.Object)
            .Select(v => new Row(v.GetProperty("OpsPerSecond").GetDouble(), v.GetProperty("P50Ms").GetDouble(), v.GetProperty("P99Ms").GetDouble(),
                string.Join('/', v.GetProperty("RssMiB").EnumerateArray().Select(x => x.GetDouble().ToString("F0", CultureInfo.InvariantCulture)))))
            .OrderBy(r => r.Ops).ToList();
        return rows.Count == 0 ? null : rows[rows.Count / 2];
    }

    private static string Idle(Dictionary<string, List<JsonElement>> byTarget, string target)
    {
        // Runs made with --only may lack the figure.
        var values = byTarget.TryGetValue(target, out var runs)
            ? runs.Select(r => r.GetProperty("results").TryGetProperty("idle-watcher-bytes", out var v) ? v.GetDouble() : double.NaN).Where(v => !double.IsNaN(v)).Order().ToList()
            : [];
        return values.Count == 0 ? "-" : values[values.Count / 2].ToString("F0", CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// The watch-resume rows: times, not rates, so their ratio is etcd's time over Cairn's (above 1×
    /// Cairn is faster, the same direction as the ops/s ratios), and any delivery violation is shouted.
    /// </summary>
    private static void ResumeRows(StringBuilder sb, List<JsonElement> runs, Dictionary<string, List<JsonElement>> byTarget)
    {
        var inv = CultureInfo.InvariantCulture;
        var variants = runs.SelectMany(r => r.GetProperty("results").EnumerateObject())
            .Where(p => p.Value.ValueKind == JsonValueKind.Object && p.Value.TryGetProperty("Kind", out var k) && k.GetString() == "watch-resume")
            .Select(p => p.Name).Distinct().ToList();
        if (variants.Count == 0)
            return;
        var notes = new List<string>();
        foreach (var w in variants)
        {
            foreach (var (metric, label) in new[] { ("Resume", "kill → first event after resume, ms"), ("Gap", "gap between events across the kill, ms") })
            {
                var e = ResumeMedian(byTarget, "etcd", w, metric);
                var c = ResumeMedian(byTarget, "cairn", w, metric);
                var ratio = e is not null && c is not null && c.Value.P50 > 0 ? (e.Value.P50 / c.Value.P50).ToString("F2", inv) + "× (etcd/Cairn p50 time)" : "-";
                sb.AppendLine(inv, $"| {w}: {label} | - | - | {ratio} | {Lat(e)} | {Lat(c)} | | |");
            }

            foreach (var target in byTarget.Keys.Order())
            {
                var found = byTarget[target].Select(r => r.GetProperty("results").TryGetProperty(w, out var v) ? v : default).Where(v => v.ValueKind == JsonValueKind.Object).ToList();
                long Sum(string field) => found.Sum(v => v.GetProperty(field).GetInt64());
                var violations = Sum("Violations");
                var breaks = ResumeMedian(byTarget, target, w, "Break");
                // Older runs lack the figures of events committed after the kill.
                var fresh = found.All(v => v.TryGetProperty("FreshP50Ms", out _))
                    ? string.Create(inv, $"kill → first event committed after the kill {Lat(ResumeMedian(byTarget, target, w, "Fresh"))} ms ({Sum("ResumedWithBacklog")} watchers resumed with a backlog from before the kill); ")
                    : "";
                notes.Add(string.Create(inv, $"{w} on {target}: kill → stream break seen {Lat(breaks)} ms; {fresh}{Sum("Trials")} trials × {found.FirstOrDefault().GetProperty("Watchers").GetInt32()} watchers, {Sum("Events")} events checked, {Sum("Missed")} missed, {Sum("Duplicated")} duplicated, {Sum("OutOfOrder")} out of order, {Sum("NotResumed")} not resumed")
                    + (violations > 0 ? $" — **VIOLATION: {violations} watcher(s) did not get every event exactly once**" : "."));
            }
        }

        sb.AppendLine();
        sb.AppendLine("watch-resume rows: 10 watchers on one member (a follower, or the leader), a put every 5 ms through a surviving follower, then kill -9 of the watched member; each watcher resumes on the next endpoint from its last revision + 1. Times are p50 / p99 over every watcher of every trial; their ratio is etcd's time / Cairn's, so above 1× Cairn resumes faster (lower times are better).");
        foreach (var note in notes)
            sb.AppendLine("- " + note);
    }

    private static Row? ResumeMedian(Dictionary<string, List<JsonElement>> byTarget, string target, string workload, string metric)
    {
        if (!byTarget.TryGetValue(target, out var runs))
            return null;
        var rows = runs.Select(r => r.GetProperty("results").TryGetProperty(workload, out var v) ? v : default)
            .Where(v => v.ValueKind == JsonValueKind.Object)
            .Select(v => new Row(0, v.GetProperty(metric + "P50Ms").GetDouble(), v.GetProperty(metric + "P99Ms").GetDouble(), ""))
            .OrderBy(r => r.P50).ToList();
        return rows.Count == 0 ? null : rows[rows.Count / 2];
    }

    private static string Fmt(double? v) => v is null ? "-" : v.Value.ToString("F0", CultureInfo.InvariantCulture);

    private static string Lat(Row? r) => r is null ? "-" : string.Create(CultureInfo.InvariantCulture, $"{r.Value.P50:F2} / {r.Value.P99:F2}");
}
