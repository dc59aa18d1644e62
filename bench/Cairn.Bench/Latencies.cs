using System.Diagnostics;

namespace Cairn.Bench;

/// <summary>Collects per-operation latencies (Stopwatch ticks) from many tasks; summarises as percentiles.</summary>
internal sealed class Latencies
{
    private readonly List<long>[] _shards;

    public Latencies(int shards) => _shards = Enumerable.Range(0, shards).Select(_ => new List<long>(1024)).ToArray();

    /// <summary>Records one latency into a shard owned by one task (no locking).</summary>
    public void Add(int shard, long ticks) => _shards[shard].Add(ticks);

    public Summary Summarise(TimeSpan elapsed)
    {
        var all = _shards.SelectMany(s => s).ToArray();
        Array.Sort(all);
        double Ms(double q) => all.Length == 0 ? 0 : all[Math.Min(all.Length - 1, (int)(q * all.Length))] * 1000.0 / Stopwatch.Frequency;
        return new Summary(all.Length, all.Length / elapsed.TotalSeconds, Ms(0.5), Ms(0.99), Ms(0.999));
    }
}

/// <summary>One workload's result.</summary>
internal sealed record Summary(long Ops, double OpsPerSecond, double P50Ms, double P99Ms, double P999Ms);
