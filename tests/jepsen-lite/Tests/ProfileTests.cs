using Cairn.JepsenLite.Checkers;
using Cairn.JepsenLite.Cluster;
using Xunit.Abstractions;

namespace Cairn.JepsenLite.Tests;

/// <summary>
/// Runs a profile against real processes. The short profile (3 scenarios, JEPSEN_LITE_SECONDS each, default 30)
/// always runs against Cairn. JEPSEN_LITE_PROFILE=long runs the long profile instead; JEPSEN_LITE_TARGET=etcd
/// runs against /usr/bin/etcd; JEPSEN_LITE_SEED sets the seed (default 1); JEPSEN_LITE_SCENARIOS=N keeps the first N
/// scenarios (a reduced long profile); JEPSEN_LITE_OUT keeps the output.
/// </summary>
public class ProfileTests(ITestOutputHelper output)
{
    [Fact]
    public async Task ShortProfileAgainstConfiguredTargetFindsNoViolation()
    {
        var profile = Environment.GetEnvironmentVariable("JEPSEN_LITE_PROFILE") ?? "short";
        var target = Environment.GetEnvironmentVariable("JEPSEN_LITE_TARGET") == "etcd" ? Target.Etcd : Target.Cairn;
        int seed = int.TryParse(Environment.GetEnvironmentVariable("JEPSEN_LITE_SEED"), out var s) ? s : 1;
        int? seconds = int.TryParse(Environment.GetEnvironmentVariable("JEPSEN_LITE_SECONDS"), out var sec) ? sec : null;
        int? scenarios = int.TryParse(Environment.GetEnvironmentVariable("JEPSEN_LITE_SCENARIOS"), out var n) ? n : null;
        var outDir = Environment.GetEnvironmentVariable("JEPSEN_LITE_OUT") ?? Path.Combine(Path.GetTempPath(), $"jepsen-lite-test-{Environment.ProcessId}");
        var results = await Runner.RunAllAsync(target, seed, Runner.Profile(profile, seconds, scenarios), outDir, output.WriteLine, CancellationToken.None);
        foreach (var r in results)
        {
            Assert.True(r.Overall != Validity.Invalid, $"{r.Scenario.Name} (seed {r.Seed}) found a violation; history {r.HistoryFile}\n{r.Summary}");
            Assert.Contains(r.Results, c => c.Checker == "watch");
            Assert.All(r.Results, c => Assert.True(c.Validity != Validity.Invalid, c.ToString()));
        }
        // The run must have exercised something: ops completed and faults injected in every scenario.
        Assert.All(results, r => Assert.Contains("faults: ", r.Summary));
    }
}
