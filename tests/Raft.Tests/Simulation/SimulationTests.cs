using System.Collections.Concurrent;
using System.Diagnostics;
using Xunit.Abstractions;

namespace Cairn.Raft.Tests.Simulation;

/// <summary>
/// Runs the deterministic cluster simulation over many seeds. Environment:
/// RAFT_SEED=n replays one seed (with a trace of the last events on failure);
/// RAFT_SOAK_SEEDS=n runs n seeds instead of the default 2 000; RAFT_SEED_START=n shifts the range.
/// </summary>
public sealed class SimulationTests(ITestOutputHelper output)
{
    private const int DefaultSeeds = 2000;

    internal static SimOptions OptionsFor(int seed) => new()
    {
        Members = seed % 2 == 0 ? 3 : 5,
    };

    internal static string? RunSeed(int seed, bool trace = false)
    {
        var sim = new Simulator(seed, OptionsFor(seed), trace);
        string? failure;
        try
        {
            sim.Run();
            failure = sim.Checker.Violations.Count > 0
                ? string.Join("\n  ", sim.Checker.Violations)
                : sim.LivenessFailure;
        }
        catch (Exception e)
        {
            failure = "exception: " + e;
        }
        if (failure is null) return null;
        var text = $"seed {seed} ({sim.Describe()}) failed:\n  {failure}\n  replay: RAFT_SEED={seed} dotnet test tests/Raft.Tests --filter FullyQualifiedName~Simulation";
        if (trace) text += "\n  trace:\n    " + string.Join("\n    ", sim.Trace);
        return text;
    }

    [Fact]
    public void Simulation_ManySeeds_AllInvariantsHold_AndClusterRecovers()
    {
        var single = Environment.GetEnvironmentVariable("RAFT_SEED");
        if (int.TryParse(single, out var one))
        {
            var result = RunSeed(one, trace: true);
            Assert.True(result is null, result);
            return;
        }
        var count = int.TryParse(Environment.GetEnvironmentVariable("RAFT_SOAK_SEEDS"), out var n) ? n : DefaultSeeds;
        var start = int.TryParse(Environment.GetEnvironmentVariable("RAFT_SEED_START"), out var s) ? s : 1;
        var failures = new ConcurrentBag<(int Seed, string Text)>();
        var sw = Stopwatch.StartNew();
        Parallel.For(start, start + count, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, seed =>
        {
            if (RunSeed(seed) is { } f) failures.Add((seed, f));
        });
        output.WriteLine($"{count} seeds from {start} in {sw.Elapsed.TotalSeconds:F1}s, {failures.Count} failed");
        var sorted = failures.OrderBy(f => f.Seed).ToList();
        Assert.True(sorted.Count == 0,
            $"{sorted.Count} of {count} seeds failed: {string.Join(", ", sorted.Select(f => f.Seed).Take(50))}\n" +
            string.Join("\n", sorted.Take(5).Select(f => f.Text)));
    }

    [Fact]
    public void Simulation_SameSeed_IsDeterministic()
    {
        var a = new Simulator(42, OptionsFor(42), trace: true);
        a.Run();
        var b = new Simulator(42, OptionsFor(42), trace: true);
        b.Run();
        Assert.Equal(a.Ticks, b.Ticks);
        Assert.Equal(a.Trace, b.Trace);
        Assert.Equal(a.Checker.MaxApplied, b.Checker.MaxApplied);
    }
}
