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
    /// <c>etcdctl lease keep-alive</c> run against the follower: after 15 s (three TTLs) the lease and
    /// its key are still there, <c>lease timetolive</c> through the follower reports the leader's
    /// remaining TTL (between 1 and the granted 5 s), and the keep-alive has not ended by itself
    /// (etcdctl ends it when the lease is gone). Once it stops, the leader expires the lease.
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

            // Kept alive through the follower only, for three TTLs and more; every check runs while it is
            // still kept alive, so a slow start of etcdctl on a loaded machine cannot let it lapse.
            using var stopKeepAlive = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var keepAlive = follower.Etcdctl.RunAsync(["lease", "keep-alive", id], timeout: TimeSpan.FromSeconds(120), cancellationToken: stopKeepAlive.Token);
            long during, later;
            CommandResult get;
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(15), ct);
                during = await RemainingAsync(follower, id, ct);
                Log($"time-to-live through the follower after 15 s of keep-alive: {during}");
                get = await follower.Etcdctl.RunAsync(["get", "leased", "--print-value-only"], cancellationToken: ct);
                later = await RemainingAsync(follower, id, ct);
                Log($"time-to-live through the follower after the get: {later}");
                Assert.False(keepAlive.IsCompleted, $"lease keep-alive ended by itself: {(keepAlive.IsCompleted ? keepAlive.Result.StdoutText + keepAlive.Result.StderrText : "")}");
            }
            finally
            {
                await stopKeepAlive.CancelAsync();
            }

            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => keepAlive);

            Assert.InRange(during, 1, 5);
            Assert.InRange(later, 1, 5);
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
