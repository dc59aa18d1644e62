using Cairn.Client.Tests.Infra;
using Xunit.Abstractions;

namespace Cairn.Client.Tests;

/// <summary>Cluster tests share fixed ports or heavy processes: never run them in parallel.</summary>
[CollectionDefinition("clusters", DisableParallelization = true)]
public sealed class ClusterCollection;

/// <summary>
/// Watch failover against a real 3-member cluster (<see cref="FailoverScenario"/>: kill -9, SIGSTOP,
/// partition of the member the watchers use) and the require-leader cancellation
/// (<see cref="RequireLeaderScenario"/>); run against etcd 3.4 (the reference) and Cairn alike.
/// </summary>
public abstract class FailoverTestsBase(ITestOutputHelper output)
{
    /// <summary>A fresh 3-member cluster; <paramref name="peerProxy"/> puts its peer links behind a fault proxy.</summary>
    protected abstract Task<TestCluster> StartClusterAsync(bool peerProxy = false);

    [Theory]
    [InlineData(VictimRole.Leader)]
    [InlineData(VictimRole.Follower)]
    public Task WatchesSurviveKill9(VictimRole role) => RunScenarioAsync(Fault.Kill, role);

    [Fact]
    public Task WatchesSurviveSigstop() => RunScenarioAsync(Fault.Pause, VictimRole.Leader);

    [Theory]
    [InlineData(VictimRole.Leader)]
    [InlineData(VictimRole.Follower)]
    public Task WatchesSurvivePartition(VictimRole role) => RunScenarioAsync(Fault.Partition, role);

    [Fact]
    public async Task RequireLeaderWatchLeavesAMemberWithoutLeaderAndResumesExactly()
    {
        await using var cluster = await StartClusterAsync();
        await RequireLeaderScenario.RunAsync(cluster, output);
    }

    /// <summary>
    /// Leases kept alive over the client's one keep-alive stream outlive a kill -9 of the member that
    /// stream is on: it re-opens on a survivor and every lease goes on being renewed there.
    /// </summary>
    [Fact]
    public virtual async Task LeaseKeepAlivesSurviveAKillOfTheirMember()
    {
        await using var cluster = await StartClusterAsync();
        await using var client = new EtcdClient(new EtcdClientOptions
        {
            Endpoints = cluster.Endpoints.ToList(),
            Log = line => output.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} {line}"),
        });
        const int ttl = 6;
        var leases = new List<long>();
        using var keepers = new LeaseKeepers(client);
        for (var i = 0; i < 5; i++)
        {
            leases.Add((await client.LeaseGrantAsync(ttl)).ID);
            keepers.Keep(leases[i]);
            await client.PutAsync("lease-failover/" + i, "v", new PutOptions { Lease = leases[i] });
        }
        await Scripted.WaitUntil(() => keepers.AllAnswers().All(n => n > 0));
        var victimEndpoint = client.LeaseKeepAliveEndpoint;
        Assert.NotNull(victimEndpoint);
        var victim = cluster.Endpoints.ToList().FindIndex(e => e.TrimEnd('/') == victimEndpoint.TrimEnd('/'));
        var before = keepers.AllAnswers();
        output.WriteLine($"killing member {victim} ({victimEndpoint}), the keep-alive stream's");
        cluster.Kill(victim);
        var killed = DateTime.UtcNow;

        // Every lease is renewed again, on another member, and its key outlives the TTL after the kill.
        await Scripted.WaitUntil(() => Enumerable.Range(0, leases.Count).All(i => keepers.Answers(i) >= before[i] + 2), seconds: 40);
        var wait = killed + TimeSpan.FromSeconds(ttl * 1.5) - DateTime.UtcNow;
        if (wait > TimeSpan.Zero)
        {
            await Task.Delay(wait);
        }
        Assert.All(keepers.Tasks, t => Assert.False(t.IsCompleted, t.Exception?.ToString()));
        Assert.Equal(leases.Count, (await client.GetAsync(KeyRange.Prefix("lease-failover/"))).Kvs.Count);
        Assert.NotEqual(victimEndpoint, client.LeaseKeepAliveEndpoint);
        Assert.True(client.LeaseKeepAliveStreamsOpened >= 2);
        output.WriteLine($"{client.LeaseKeepAliveStreamsOpened} keep-alive streams opened; answers before the kill {string.Join(",", before)}, " +
            $"now {string.Join(",", keepers.AllAnswers())}");
    }

    private async Task RunScenarioAsync(Fault fault, VictimRole role)
    {
        if (role == VictimRole.Follower && !FailoverScenario.Soak)
        {
            return; // CAIRN_CLIENT_SOAK=1 runs it (keeps the default run short)
        }
        await using var cluster = await StartClusterAsync(peerProxy: fault == Fault.Partition);
        await new FailoverScenario(cluster, output).RunAsync(fault, role);
    }
}

/// <summary>Against a real 3-member etcd 3.4 (the reference behaviour).</summary>
[Collection("clusters")]
public sealed class EtcdFailoverTests(ITestOutputHelper output) : FailoverTestsBase(output)
{
    protected override async Task<TestCluster> StartClusterAsync(bool peerProxy = false) => await EtcdCluster.StartAsync(peerProxy);
}

/// <summary>Against a 3-member Cairn cluster.</summary>
[Collection("clusters")]
public sealed class CairnFailoverTests(ITestOutputHelper output) : FailoverTestsBase(output)
{
    protected override async Task<TestCluster> StartClusterAsync(bool peerProxy = false) => await CairnCluster.StartAsync(peerProxy);
}
