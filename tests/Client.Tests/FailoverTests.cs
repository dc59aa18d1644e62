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
