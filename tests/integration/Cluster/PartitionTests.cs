using System.Diagnostics;
using Cairn.IntegrationTests.Infrastructure;
using Cairn.Protocol;
using Xunit.Abstractions;

namespace Cairn.IntegrationTests.Cluster;

/// <summary>A member cut from its peers (both ways) by the peer fault proxy, then healed.</summary>
[Collection(ClusterCollection.Name)]
public sealed class Partition(ITestOutputHelper output) : ClusterTestBase(output)
{
    private static readonly KeyValuePair<string, string>[] RequireLeader = [new("hasleader", "true")];

    private static string EndOf(WatchCollector watch) =>
        watch.Ended.Task.IsCompleted ? watch.Ended.Task.Result?.ToString() ?? "clean end" : "still open";

    /// <summary>
    /// 6. On an isolated member: a watch opened with <c>hasleader: true</c> ends with Unavailable "etcdserver: no
    /// leader" within a few election timeouts; a unary call with that metadata fails the same way; a watch without it
    /// stays open and, after healing, delivers every write made meanwhile exactly once, in order.
    /// </summary>
    /// <param name="isolateLeader">Isolate the leader (it must step down; the majority elects another) rather than a follower.</param>
    [Theory(Timeout = 200_000)]
    [InlineData(false)]
    [InlineData(true)]
    public Task IsolatedMemberEndsRequireLeaderWatchesAndKeepsOthers(bool isolateLeader) =>
        WithClusterAsync(new CairnClusterOptions { WithFaultProxy = true }, TimeSpan.FromSeconds(170), async (cluster, ct) =>
        {
            var proxy = cluster.Proxy!;
            var election = TimeSpan.FromMilliseconds(cluster.Options.ElectionMs);
            var leader = await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(30));
            var isolated = isolateLeader ? leader : cluster.Nodes.First(n => n != leader);
            var majority = cluster.Nodes.Where(n => n != isolated).ToList();
            var seed = await leader.PutAsync("p/seed", "0");
            // Both watches start after the seed; make sure the isolated member has applied it (serializable read).
            await RetryAsync(async () =>
            {
                var r = await isolated.RangeAsync("p/seed", serializable: true);
                return r.Kvs.Count == 1 ? r : throw new InvalidOperationException("not applied yet");
            }, TimeSpan.FromSeconds(20));
            await using var requireLeaderWatch = await WatchCollector.OpenAsync(isolated.Channel, "p/", seed.Header.Revision + 1, requireLeader: true);
            await using var plainWatch = await WatchCollector.OpenAsync(isolated.Channel, "p/", seed.Header.Revision + 1, requireLeader: false);
            Log($"leader {leader.Name}; isolating {(isolateLeader ? "the leader" : "follower")} {isolated.Name} ({isolated.Id:x16}) with two watches open on it");

            var isolatedAt = Stopwatch.StartNew();
            proxy.Isolate(isolated.Id, cluster.Nodes.Select(n => n.Id));

            // The majority keeps writing meanwhile (through a member of the majority; one key per put, so that the
            // history tells which puts were applied even when an acknowledgement was lost during an election).
            var written = new List<long>();
            var writer = Task.Run(async () =>
            {
                for (var i = 0; i < 60; i++)
                {
                    var one = Stopwatch.StartNew();
                    var put = await RetryAsync(() => majority[i % 2].PutAsync($"p/k{i:D3}", $"v{i}", TimeSpan.FromSeconds(5)), TimeSpan.FromSeconds(30));
                    if (one.ElapsedMilliseconds > 500)
                        Log($"slow put {i} on the majority: {one.ElapsedMilliseconds} ms");
                    lock (written)
                        written.Add(put.Header.Revision);
                    if (i % 20 == 0)
                        Log($"put {i} on the majority acknowledged at revision {put.Header.Revision} in {one.ElapsedMilliseconds} ms");
                    await Task.Delay(50);
                }
            });

            var end = await requireLeaderWatch.Ended.Task.WaitAsync(TimeSpan.FromSeconds(60));
            var endedAfter = isolatedAt.Elapsed;
            Log($"MEASURED hasleader watch on the isolated member ended after {endedAfter.TotalMilliseconds:0} ms " +
                $"({endedAfter / election:0.0} election timeouts): {end?.GetType().Name} {end?.Message}");
            var rpc = Assert.IsType<RpcException>(end);
            Assert.Equal(StatusCode.Unavailable, rpc.Status);
            Assert.Equal("etcdserver: no leader", rpc.Message);
            Assert.True(endedAfter <= 8 * election, $"the hasleader watch ended only after {endedAfter.TotalMilliseconds:0} ms (> 8 election timeouts)");

            // A unary call with hasleader: Unavailable "etcdserver: no leader".
            var status = await isolated.StatusAsync();
            Assert.Equal(0UL, status.Leader);
            var unary = await Assert.ThrowsAsync<RpcException>(() => isolated.RangeAsync("p/seed", serializable: true, headers: RequireLeader));
            Assert.Equal(StatusCode.Unavailable, unary.Status);
            Assert.Equal("etcdserver: no leader", unary.Message);
            Log($"unary Range with hasleader on the isolated member: {unary.Status} \"{unary.Message}\"");
            // Without the metadata, a serializable read is still served locally.
            Assert.Single((await isolated.RangeAsync("p/seed", serializable: true).WaitAsync(TimeSpan.FromSeconds(20))).Kvs);
            Log("serializable Range without hasleader on the isolated member served locally");

            await writer.WaitAsync(TimeSpan.FromSeconds(60));
            Assert.False(plainWatch.Ended.Task.IsCompleted, $"the watch without hasleader ended: {EndOf(plainWatch)}");
            var seenWhileIsolated = plainWatch.Events.Count;
            Log($"{written.Count} writes on the majority while isolated; the plain watch is still open ({seenWhileIsolated} events so far)");

            var healedAt = Stopwatch.StartNew();
            proxy.HealAll();
            if (isolateLeader)
            {
                var newLeader = await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(30), majority);
                Log($"the majority's leader is {newLeader.Name}");
            }
            // The reference: the whole history of p/ after the seed, replayed by a watch on a majority member. (Not the
            // list of acknowledged puts: a put whose acknowledgement was lost during the election may still be applied,
            // even later; see the note below.)
            await Task.Delay(2000);
            await using var reference = await WatchCollector.OpenAsync(majority[0].Channel, "p/", seed.Header.Revision + 1, requireLeader: false);
            var deadline = Stopwatch.StartNew();
            var stableSince = Stopwatch.StartNew();
            var lastCount = -1;
            while (deadline.Elapsed < TimeSpan.FromSeconds(60))
            {
                var count = reference.Events.Count;
                if (count != lastCount)
                {
                    lastCount = count;
                    stableSince.Restart();
                }
                if (count >= written.Count && plainWatch.Events.Count >= count && stableSince.Elapsed > TimeSpan.FromSeconds(1))
                    break;
                await Task.Delay(50);
            }
            Log($"after healing, the plain watch delivered {plainWatch.Events.Count} events; the reference history has {reference.Events.Count}");
            await Task.Delay(1000); // anything duplicated would show up here
            static string Describe(Mvccpb.Event e) => $"{e.Type} {e.Kv.Key.ToStringUtf8()}={e.Kv.Value.ToStringUtf8()} @{e.Kv.ModRevision}";
            var expected = reference.Events.Select(Describe).ToList();
            var actual = plainWatch.Events.Select(Describe).ToList();
            Assert.False(plainWatch.Ended.Task.IsCompleted, $"the watch without hasleader ended: {EndOf(plainWatch)}");
            Assert.Equal(expected, actual);
            var revisions = plainWatch.Events.Select(e => e.Kv.ModRevision).ToList();
            Assert.Equal(revisions.Count, revisions.Distinct().Count());
            Assert.Subset(revisions.ToHashSet(), written.ToHashSet());
            var late = plainWatch.Events.Where(e => e.Kv.ModRevision > written.Max()).Select(Describe).ToList();
            if (late.Count > 0)
                Log($"NOTE: {late.Count} put(s) applied after the last acknowledged put (a timed-out proposal delivered late): {string.Join(", ", late)}");

            // Known bug (reported, src/Watch + src/Api): after a hasleader watch was ended by the server, a later unary
            // call on the same connection can fail with Internal "grpc: internal server error" (Kestrel: "Reading is
            // already in progress": WatchStream.RunAsync returns without awaiting its request-reading loop, and the
            // pooled HTTP/2 stream is reused with that read still pending). Logged here, then retried.
            var status2 = await RetryAsync(async () =>
            {
                try
                {
                    return await isolated.StatusAsync();
                }
                catch (RpcException e) when (e.Status == StatusCode.Internal)
                {
                    Log($"BUG (known): Status on {isolated.Name} failed with {e.Status} \"{e.Message}\"; retrying");
                    throw;
                }
            }, TimeSpan.FromSeconds(20));
            Assert.NotEqual(0UL, status2.Leader);
            await cluster.WaitForEqualHashKVAsync(cluster.Nodes, TimeSpan.FromSeconds(60));
            Log($"healed: {isolated.Name} follows {status2.Leader:x16}, equal HashKV; proxy refused/cut {proxy.Refused} connections");
        });
}
