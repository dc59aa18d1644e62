using System.Collections.Concurrent;
using Mvccpb;
using Xunit.Abstractions;

namespace Cairn.Client.Tests.Infra;

/// <summary>
/// WithRequireLeader: a member that loses quorum (both peers killed) cancels the require-leader
/// stream with "etcdserver: no leader"; the watch resumes elsewhere once a member is back, and
/// both watches (with and without the flag) deliver exactly the two committed events.
/// </summary>
public static class RequireLeaderScenario
{
    public static async Task RunAsync(TestCluster cluster, ITestOutputHelper output)
    {
        var log = new ConcurrentQueue<string>();
        var options = new EtcdClientOptions
        {
            Endpoints = cluster.Endpoints.ToList(),
            WatchProbeInterval = TimeSpan.FromMilliseconds(500),
            WatchProbeTimeout = TimeSpan.FromMilliseconds(1000),
            EndpointQuarantine = TimeSpan.FromSeconds(1),
            WatchMaxBackoff = TimeSpan.FromMilliseconds(500),
            ConnectTimeout = TimeSpan.FromSeconds(1),
            Log = line => log.Enqueue($"{DateTime.UtcNow:HH:mm:ss.fff} {line}"),
        };
        await using var client = new EtcdClient(options);
        await using var admin = new EtcdClient(new EtcdClientOptions { Endpoints = [cluster.Endpoints[0]], CallTimeout = TimeSpan.FromSeconds(2) });
        var first = (await admin.PutAsync("rl/a", "1")).Header.Revision;

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var withLeader = new List<Event>();
        var without = new List<Event>();
        async Task Collect(List<Event> into, bool requireLeader)
        {
            try
            {
                await foreach (var batch in client.Watch(KeyRange.Prefix("rl/"), new WatchOptions { StartRevision = first, RequireLeader = requireLeader }, cts.Token))
                {
                    lock (into)
                    {
                        into.AddRange(batch.Events);
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }
        }
        var tasks = new[] { Collect(withLeader, true), Collect(without, false) };
        await WaitFor(() => Count(withLeader) == 1 && Count(without) == 1, TimeSpan.FromSeconds(10), "both watches see the first event");

        cluster.Kill(1);
        cluster.Kill(2);
        await WaitFor(() => log.Any(l => l.Contains("etcdserver: no leader", StringComparison.Ordinal)), TimeSpan.FromSeconds(20),
            "the member without quorum cancels the require-leader stream");

        cluster.Restart(1);
        long second = 0;
        await WaitFor(() =>
        {
            try
            {
                second = admin.PutAsync("rl/b", "2").GetAwaiter().GetResult().Header.Revision;
                return true;
            }
            catch (EtcdException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(30), "the cluster commits again after a restart");
        await WaitFor(() => Count(withLeader) >= 2 && Count(without) >= 2, TimeSpan.FromSeconds(20), "both watches see the second event");
        cts.Cancel();
        await Task.WhenAll(tasks);

        foreach (var line in log)
        {
            output.WriteLine(line);
        }
        Assert.Equal(new[] { first, second }, withLeader.Select(e => e.Kv.ModRevision));
        Assert.Equal(new[] { first, second }, without.Select(e => e.Kv.ModRevision));
        // etcd keeps a watch without the flag on its (leaderless but alive) member: one stream, no
        // break. Cairn currently ends such a stream ("etcdserver: request timed out" seen here), and
        // the client resumes it exactly, so for Cairn only the delivered events are asserted.
        var plainOpens = log.Count(l => l.Contains("opening", StringComparison.Ordinal) && l.Contains("require-leader=False", StringComparison.Ordinal));
        output.WriteLine($"plain watch streams opened: {plainOpens}");
        if (cluster is EtcdCluster)
        {
            Assert.Equal(1, plainOpens);
        }
    }

    private static int Count(List<Event> list)
    {
        lock (list)
        {
            return list.Count;
        }
    }

    private static async Task WaitFor(Func<bool> condition, TimeSpan timeout, string what)
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(sw.Elapsed < timeout, $"timed out waiting until {what}");
            await Task.Delay(100);
        }
    }
}
