using System.Diagnostics;
using Cairn.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace Cairn.IntegrationTests.Cluster;

/// <summary>Shared bits of the cluster tests: output, a time bound per test, and the cluster's log tails on failure.</summary>
public abstract class ClusterTestBase(ITestOutputHelper output)
{
    /// <summary>The test's output.</summary>
    protected ITestOutputHelper Output { get; } = output;

    /// <summary>Writes a line to the test output, with the elapsed time of the test.</summary>
    protected void Log(string line) => Output.WriteLine($"[{Clock.Elapsed.TotalSeconds,7:0.00}s] {line}");

    private Stopwatch Clock { get; } = Stopwatch.StartNew();

    /// <summary>
    /// Runs <paramref name="body"/> on a started cluster, bounded by <paramref name="limit"/>; the cluster is always
    /// disposed (every process killed), and on failure the member log tails are printed.
    /// </summary>
    protected async Task WithClusterAsync(CairnClusterOptions options, TimeSpan limit, Func<CairnCluster, CancellationToken, Task> body)
    {
        Log($"starting a {options.Size}-member cluster (heartbeat {options.HeartbeatMs} ms, election {options.ElectionMs} ms" +
            (options.SnapshotCount is { } s ? $", snapshot-count {s}" : "") + (options.WithFaultProxy ? ", peer fault proxy" : "") + ")");
        var cluster = await CairnCluster.StartAsync(options);
        Log($"cluster up: {string.Join(", ", cluster.Nodes.Select(n => $"{n.Name}={n.ClientEndpoint} id {n.Id:x16}"))}");
        using var cts = new CancellationTokenSource(limit);
        try
        {
            var run = body(cluster, cts.Token);
            var finished = await Task.WhenAny(run, Task.Delay(limit + TimeSpan.FromSeconds(5)));
            if (finished != run)
            {
                cts.Cancel();
                throw new TimeoutException($"The test did not finish within {limit.TotalSeconds:0} s.");
            }
            await run;
        }
        catch
        {
            Output.WriteLine(cluster.DescribeLogs());
            throw;
        }
        finally
        {
            await cluster.DisposeAsync();
        }
    }

    /// <summary>Retries <paramref name="action"/> until it succeeds or <paramref name="timeout"/> passes (then rethrows).</summary>
    protected static async Task<T> RetryAsync<T>(Func<Task<T>> action, TimeSpan timeout, int delayMs = 100)
    {
        var sw = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                return await action();
            }
            catch (Exception) when (sw.Elapsed < timeout)
            {
                await Task.Delay(delayMs);
            }
        }
    }

    /// <summary>Runs a program to its end (killed after <paramref name="timeout"/>: exit code -1); returns its exit code and stdout + stderr.</summary>
    protected static async Task<(int ExitCode, string Output)> RunProcessAsync(string fileName, IEnumerable<string> args, TimeSpan timeout)
    {
        var startInfo = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
            startInfo.ArgumentList.Add(arg);
        ChildProcesses.ScrubEnvironment(startInfo);
        var process = ChildProcesses.Start(startInfo);
        try
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            using var cts = new CancellationTokenSource(timeout);
            await process.WaitForExitAsync(cts.Token);
            return (process.ExitCode, await stdout + await stderr);
        }
        catch (OperationCanceledException)
        {
            return (-1, $"timed out after {timeout.TotalSeconds:0} s");
        }
        finally
        {
            await ChildProcesses.KillAndWaitAsync(process);
            process.Dispose();
        }
    }
}
