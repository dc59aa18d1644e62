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
        sb.AppendLine("Each figure is the median over the runs of that target (runs alternate etcd / Cairn).");
        sb.AppendLine();
        sb.AppendLine("| workload | etcd ops/s | Cairn ops/s | ratio | etcd p50 / p99 ms | Cairn p50 / p99 ms | etcd RSS MiB | Cairn RSS MiB |");
        sb.AppendLine("|---|---:|---:|---:|---|---|---|---|");
        var workloads = runs.SelectMany(r => r.GetProperty("results").EnumerateObject())
            .Where(p => p.Value.ValueKind == JsonValueKind.Object).Select(p => p.Name).Distinct();
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

    private static string Idle(Dictionary<string, List<JsonElement>> byTarget, string target) =>
        byTarget.TryGetValue(target, out var runs)
            ? runs.Select(r => r.GetProperty("results").GetProperty("idle-watcher-bytes").GetDouble()).Order().ElementAt(runs.Count / 2).ToString("F0", CultureInfo.InvariantCulture)
            : "-";

    private static string Fmt(double? v) => v is null ? "-" : v.Value.ToString("F0", CultureInfo.InvariantCulture);

    private static string Lat(Row? r) => r is null ? "-" : string.Create(CultureInfo.InvariantCulture, $"{r.Value.P50:F2} / {r.Value.P99:F2}");
}
