using Cairn.Client.Tests.Infra;
using Xunit.Abstractions;

namespace Cairn.Client.Tests;

/// <summary>Cluster tests share fixed ports or heavy processes: never run them in parallel.</summary>
[CollectionDefinition("clusters", DisableParallelization = true)]
public sealed class ClusterCollection;

/// <summary>Watch failover against a real 3-member etcd 3.4 (the reference behaviour).</summary>
[Collection("clusters")]
public sealed class EtcdFailoverTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(VictimRole.Leader)]
    [InlineData(VictimRole.Follower)]
    public async Task WatchesSurviveKill9(VictimRole role)
    {
        if (role == VictimRole.Follower && !FailoverScenario.Soak)
        {
            return; // CAIRN_CLIENT_SOAK=1 runs it (keeps the default run short)
        }
        await using var cluster = await EtcdCluster.StartAsync();
        await new FailoverScenario(cluster, output).RunAsync(Fault.Kill, role);
    }

    [Fact]
    public async Task WatchesSurviveSigstop()
    {
        await using var cluster = await EtcdCluster.StartAsync();
        await new FailoverScenario(cluster, output).RunAsync(Fault.Pause, VictimRole.Leader);
    }
}

/// <summary>The same failover experiment against a 3-member Cairn cluster.</summary>
[Collection("clusters")]
public sealed class CairnFailoverTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(VictimRole.Leader)]
    [InlineData(VictimRole.Follower)]
    public async Task WatchesSurviveKill9(VictimRole role)
    {
        if (role == VictimRole.Follower && !FailoverScenario.Soak)
        {
            return; // CAIRN_CLIENT_SOAK=1 runs it (keeps the default run short)
        }
        await using var cluster = await CairnCluster.StartAsync();
        await new FailoverScenario(cluster, output).RunAsync(Fault.Kill, role);
    }

    [Fact]
    public async Task WatchesSurviveSigstop()
    {
        await using var cluster = await CairnCluster.StartAsync();
        await new FailoverScenario(cluster, output).RunAsync(Fault.Pause, VictimRole.Leader);
    }
}
