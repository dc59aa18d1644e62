using System.Diagnostics;
using System.Text;
using Cairn.IntegrationTests.Cluster;
using Cairn.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace Cairn.IntegrationTests.NpmClient;

/// <summary>
/// A watch made by the etcd3 npm client on a 3-member Cairn survives a kill -9 of the member serving it:
/// the client reconnects to another member from its last revision + 1, and sees every value once, in order
/// (failover.js). This is the library's own failover logic against Cairn, not ours.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class NpmWatchFailover(ITestOutputHelper output) : ClusterTestBase(output)
{
    private const int Values = 200;

    /// <summary>Kill -9 of the watch's member half way through the puts, which go through the other members.</summary>
    [Fact(Timeout = 240_000)]
    public Task WatchSurvivesAKillOfItsMemberExactlyOnce() =>
        WithClusterAsync(new CairnClusterOptions(), TimeSpan.FromSeconds(200), async (cluster, ct) =>
        {
            var node = Tools.FindOnPath("node") ?? throw new InvalidOperationException("node is not installed (scripts/test.sh installs it)");
            var dir = Path.Combine(RepoLayout.Root, "tests", "integration", "NpmClient");
            Assert.True(Directory.Exists(Path.Combine(dir, "node_modules", "etcd3")), $"the etcd3 package is not installed in {dir} (scripts/test.sh runs `npm ci` there)");

            var info = new ProcessStartInfo(node)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                RedirectStandardInput = true,
                UseShellExecute = false,
                WorkingDirectory = dir,
            };
            info.ArgumentList.Add("failover.js");
            info.ArgumentList.Add(string.Join(",", cluster.Nodes.Select(n => n.ClientEndpoint)));
            info.ArgumentList.Add(Values.ToString(System.Globalization.CultureInfo.InvariantCulture));
            ChildProcesses.ScrubEnvironment(info);
            var stdout = new StringBuilder();
            var stderr = new StringBuilder();
            var ready = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
            var process = ChildProcesses.Start(info);
            try
            {
                process.OutputDataReceived += (_, e) => { lock (stdout) stdout.AppendLine(e.Data); };
                process.ErrorDataReceived += (_, e) =>
                {
                    lock (stderr) stderr.AppendLine(e.Data);
                    if (e.Data?.StartsWith("KILL ", StringComparison.Ordinal) == true)
                        ready.TrySetResult(e.Data.Split(' ')[1]);
                };
                process.BeginOutputReadLine();
                process.BeginErrorReadLine();
                var victimEndpoint = await ready.Task.WaitAsync(TimeSpan.FromSeconds(60), ct);
                var victim = cluster.Nodes.Single(n => n.ClientEndpoint == victimEndpoint);
                Log($"killing {victim.Name} ({victimEndpoint}), the member the watch is on, half way through the puts");
                await victim.KillAsync();
                await process.StandardInput.WriteLineAsync("killed");
                await process.StandardInput.FlushAsync(ct);

                using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
                limit.CancelAfter(TimeSpan.FromSeconds(120));
                try
                {
                    await process.WaitForExitAsync(limit.Token);
                }
                catch (OperationCanceledException)
                {
                    lock (stderr)
                        Assert.Fail($"failover.js did not finish within 120 s after the kill.\nstdout: {stdout}\nstderr: {stderr}");
                }
                process.WaitForExit();
                string result;
                lock (stdout)
                    result = stdout.ToString().Trim();
                Log($"failover.js exit {process.ExitCode}: {result}\n{stderr}");
                Assert.Equal(0, process.ExitCode);
                Assert.Equal($"seen={Values} missing=0 dup=0 ordered=true disconnects=yes", result);
            }
            finally
            {
                await ChildProcesses.KillAndWaitAsync(process);
                process.Dispose();
            }
        });
}
