using System.Text.RegularExpressions;
using Cairn.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace Cairn.IntegrationTests.Cluster;

/// <summary>
/// Leases kept alive and asked about through a follower: only the leader's clock expires leases, so
/// the follower must forward keep-alives and time-to-live to the leader, as etcd 3.4 does.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed partial class LeaseThroughFollower(ITestOutputHelper output) : ClusterTestBase(output)
{
    /// <summary>
    /// A lease with TTL 5 granted on the leader, its key put through a follower, and
    /// <c>etcdctl lease keep-alive</c> run for 15 s (three TTLs) against the follower: the lease and
    /// its key survive, and <c>lease timetolive</c> through the follower reports the leader's
    /// remaining TTL (between 1 and the granted 5 s) while the keep-alive runs and just after it.
    /// </summary>
    [Fact(Timeout = 180_000)]
    public Task KeepAliveThroughAFollower_KeepsTheLeaseAndItsKey() =>
        WithClusterAsync(new CairnClusterOptions(), TimeSpan.FromSeconds(150), async (cluster, ct) =>
        {
            var leader = await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(30));
            var follower = cluster.Nodes.First(n => n != leader);
            Log($"leader {leader.Name}, follower {follower.Name}");

            var grant = await leader.Etcdctl.RunAsync(["lease", "grant", "5"], cancellationToken: ct);
            Assert.True(grant.Succeeded, $"lease grant failed: {grant.StderrText}{grant.StdoutText}");
            var id = GrantedId().Match(grant.StdoutText) is { Success: true } m ? m.Groups[1].Value : throw new InvalidOperationException(grant.StdoutText);
            Log($"granted lease {id}");
            var put = await follower.Etcdctl.RunAsync(["put", "leased", "v", $"--lease={id}"], cancellationToken: ct);
            Assert.True(put.Succeeded, $"put failed: {put.StderrText}{put.StdoutText}");

            // Kept alive through the follower only, three TTLs long (killed after 15 s).
            var keepAlive = follower.Etcdctl.RunAsync(["lease", "keep-alive", id], timeout: TimeSpan.FromSeconds(15), cancellationToken: ct);
            await Task.Delay(TimeSpan.FromSeconds(9), ct);
            var during = await RemainingAsync(follower, id, ct);
            Log($"time-to-live through the follower while kept alive: {during}");
            var kept = await keepAlive;
            Log($"keep-alive output: {kept.StdoutText.Trim().Split('\n').LastOrDefault()} {kept.StderrText}");
            Assert.Equal(CommandEnd.TimedOut, kept.End);
            Assert.DoesNotContain("expired", kept.StdoutText + kept.StderrText);

            var after = await RemainingAsync(follower, id, ct);
            Log($"time-to-live through the follower after the keep-alive: {after}");
            Assert.InRange(during, 1, 5);
            Assert.InRange(after, 1, 5);
            var get = await follower.Etcdctl.RunAsync(["get", "leased", "--print-value-only"], cancellationToken: ct);
            Assert.True(get.Succeeded, $"get failed: {get.StderrText}");
            Assert.Equal("v", get.StdoutText.Trim());

            // Nobody keeps it alive any more: the leader expires it, and the follower says so.
            var gone = await RetryAsync(async () =>
            {
                var ttl = await follower.Etcdctl.RunAsync(["lease", "timetolive", id], cancellationToken: ct);
                return ttl.StdoutText.Contains("already expired", StringComparison.Ordinal) ? ttl.StdoutText : throw new InvalidOperationException(ttl.StdoutText);
            }, TimeSpan.FromSeconds(30), 500);
            Log(gone.Trim());
            var empty = await follower.Etcdctl.RunAsync(["get", "leased", "--print-value-only"], cancellationToken: ct);
            Assert.Equal(string.Empty, empty.StdoutText.Trim());
        });

    /// <summary>The remaining TTL that <c>etcdctl lease timetolive</c> prints through <paramref name="node"/>; fails when the lease expired.</summary>
    private static async Task<long> RemainingAsync(CairnNode node, string id, CancellationToken ct)
    {
        var ttl = await node.Etcdctl.RunAsync(["lease", "timetolive", id], cancellationToken: ct);
        Assert.True(ttl.Succeeded, $"timetolive failed: {ttl.StderrText}{ttl.StdoutText}");
        var match = Remaining().Match(ttl.StdoutText);
        Assert.True(match.Success, $"lease {id} not alive: {ttl.StdoutText}");
        return long.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
    }

    [GeneratedRegex(@"lease ([0-9a-f]+) granted")]
    private static partial Regex GrantedId();

    [GeneratedRegex(@"remaining\((-?\d+)s\)")]
    private static partial Regex Remaining();
}
