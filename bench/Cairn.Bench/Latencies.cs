using System.Diagnostics;
using System.Globalization;

namespace Cairn.Bench;

/// <summary>Collects per-operation latencies (Stopwatch ticks) from many tasks; summarises as percentiles.</summary>
internal sealed class Latencies
{
    private readonly List<long>[] _shards;
    private readonly List<(long Start, long End)>[]? _spans;

    /// <param name="shards">One shard per task adding (no locking).</param>
    /// <param name="keepSpans">Also keep each operation's start and end (for <see cref="WriteSpans"/>).</param>
    public Latencies(int shards, bool keepSpans = false)
    {
        _shards = Enumerable.Range(0, shards).Select(_ => new List<long>(1024)).ToArray();
        if (keepSpans)
            _spans = Enumerable.Range(0, shards).Select(_ => new List<(long, long)>(1024)).ToArray();
    }

    /// <summary>Records one operation, from <paramref name="start"/> to <paramref name="end"/> (Stopwatch timestamps), into a shard owned by one task.</summary>
    public void Add(int shard, long start, long end)
    {
        _shards[shard].Add(end - start);
        _spans?[shard].Add((start, end));
    }

    private int _errors;

    /// <summary>Operations that failed with a timeout (not in the percentiles).</summary>
    public int Errors => Volatile.Read(ref _errors);

    /// <summary>Counts an operation that failed with a timeout.</summary>
    public void AddError() => Interlocked.Increment(ref _errors);

    /// <summary>Writes <c>client START END</c> per operation, the format <see cref="TraceReport"/> reads.</summary>
    public void WriteSpans(string path)
    {
        var lines = (_spans ?? []).SelectMany(s => s).OrderBy(s => s.Start)
            .Select(s => string.Create(CultureInfo.InvariantCulture, $"client {s.Start} {s.End}"));
        File.WriteAllLines(path, lines);
    }

    public Summary Summarise(TimeSpan elapsed)
    {
        var all = _shards.SelectMany(s => s).ToArray();
        Array.Sort(all);
        double Ms(double q) => all.Length == 0 ? 0 : all[Math.Min(all.Length - 1, (int)(q * all.Length))] * 1000.0 / Stopwatch.Frequency;
        var mean = all.Length == 0 ? 0 : all.Average(t => (double)t) * 1000.0 / Stopwatch.Frequency;
        return new Summary(all.Length, all.Length / elapsed.TotalSeconds, Ms(0.5), Ms(0.99), Ms(0.999), mean, Errors);
    }
}

/// <summary>One workload's result.</summary>
internal sealed record Summary(long Ops, double OpsPerSecond, double P50Ms, double P99Ms, double P999Ms, double MeanMs, int Errors = 0);
