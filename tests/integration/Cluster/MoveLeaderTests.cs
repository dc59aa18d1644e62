using System.Globalization;
using Cairn.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace Cairn.IntegrationTests.Cluster;

/// <summary>
/// <c>etcdctl move-leader</c> against a real 3-member Cairn: etcdctl asks every endpoint for its status,
/// sends MoveLeader to the one that leads, and prints etcd's message once the transfer is done.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class MoveLeader(ITestOutputHelper output) : ClusterTestBase(output)
{
    /// <summary>
    /// Leadership moves to the named follower and back again; every member then reports the new leader,
    /// writes keep working through any member, and an unknown id is refused with etcd's "bad leader transferee".
    /// </summary>
    [Fact(Timeout = 180_000)]
    public Task LeadershipMovesToTheNamedFollowerAndBack() =>
        WithClusterAsync(new CairnClusterOptions(), TimeSpan.FromSeconds(150), async (cluster, ct) =>
        {
            var all = new Etcdctl(string.Join(",", cluster.Nodes.Select(n => n.ClientEndpoint)));
            var first = await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(30));
            var target = cluster.Nodes.First(n => n != first);

            await MoveAsync(first, target);
            await MoveAsync(target, first);

            // After the moves the cluster still commits through every member, and they agree.
            for (var i = 0; i < cluster.Nodes.Count; i++)
            {
                var put = await cluster.Nodes[i].Etcdctl.RunAsync(["put", $"after-move-{i}", "v"], cancellationToken: ct);
                Assert.True(put.Succeeded, put.StderrText);
            }
            await cluster.WaitForEqualHashKVAsync(cluster.Nodes.ToList(), TimeSpan.FromSeconds(30));

            // etcd answers ErrBadLeaderTransferee for an id that is not a voting member.
            var bad = await all.RunAsync(["move-leader", "abcdef0123456789"], cancellationToken: ct);
            Log($"move-leader to an unknown id -> {bad.ExitCode}: {bad.StdoutText}{bad.StderrText}");
            Assert.False(bad.Succeeded);
            Assert.Contains("etcdserver: bad leader transferee", bad.StderrText, StringComparison.Ordinal);
            Assert.Equal(first.Id, (await first.StatusAsync(TimeSpan.FromSeconds(5))).Leader);

            async Task MoveAsync(CairnNode from, CairnNode to)
            {
                var hex = to.Id.ToString("x", CultureInfo.InvariantCulture);
                var moved = await all.RunAsync(["move-leader", hex], cancellationToken: ct);
                Log($"move-leader {hex} -> {moved.ExitCode}: {moved.StdoutText}{moved.StderrText}");
                Assert.True(moved.Succeeded, moved.StderrText);
                Assert.Contains(
                    $"Leadership transferred from {from.Id.ToString("x", CultureInfo.InvariantCulture)} to {hex}",
                    moved.StdoutText, StringComparison.Ordinal);
                // etcd's MoveLeader returns once the transferee leads; every member learns it within a heartbeat or two.
                foreach (var node in cluster.Nodes)
                {
                    var leader = await RetryAsync(async () =>
                    {
                        var status = await node.StatusAsync(TimeSpan.FromSeconds(5));
                        return status.Leader == to.Id ? status.Leader : throw new InvalidOperationException($"leader still {status.Leader:x}");
                    }, TimeSpan.FromSeconds(10));
                    Assert.Equal(to.Id, leader);
                }
            }
        });
}
