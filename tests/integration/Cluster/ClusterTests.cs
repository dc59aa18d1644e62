using System.Diagnostics;
using Cairn.IntegrationTests.Infrastructure;
using Etcdserverpb;
using Google.Protobuf;
using Xunit.Abstractions;

namespace Cairn.IntegrationTests.Cluster;

/// <summary>Replication basics against a real three-member cluster.</summary>
[Collection(ClusterCollection.Name)]
public sealed class Replication(ITestOutputHelper output) : ClusterTestBase(output)
{
    /// <summary>1. A write through each member is read linearizably, with equal values and revisions, on every member.</summary>
    [Fact(Timeout = 120_000)]
    public Task WriteThroughEachMemberReadEverywhere() =>
        WithClusterAsync(new CairnClusterOptions(), TimeSpan.FromSeconds(90), async (cluster, ct) =>
        {
            foreach (var writer in cluster.Nodes)
            {
                for (var i = 0; i < 5; i++)
                {
                    var key = $"via-{writer.Name}-{i}";
                    var value = $"value-{writer.Name}-{i}-{Guid.NewGuid():N}";
                    var put = await writer.PutAsync(key, value);
                    foreach (var reader in cluster.Nodes)
                    {
                        var got = await reader.RangeAsync(key);
                        Assert.True(got.Kvs.Count == 1, $"{reader.Name} does not see {key} written through {writer.Name} (revision {put.Header.Revision})");
                        Assert.Equal(value, got.Kvs[0].Value.ToStringUtf8());
                        Assert.Equal(put.Header.Revision, got.Kvs[0].ModRevision);
                        Assert.Equal(put.Header.Revision, got.Kvs[0].CreateRevision);
                        Assert.True(got.Header.Revision >= put.Header.Revision,
                            $"{reader.Name}'s linearizable read header revision {got.Header.Revision} < the write's {put.Header.Revision}");
                    }
                }
                Log($"5 writes through {writer.Name} read back from every member");
            }

            // The whole keyspace, read from each member: identical (same keys, values, revisions, versions).
            var views = new List<string>();
            foreach (var reader in cluster.Nodes)
            {
                var all = await reader.RangeAsync("via-", "via.");
                Assert.Equal(15, all.Kvs.Count);
                views.Add(string.Join('\n', all.Kvs.Select(kv => $"{kv.Key.ToStringUtf8()}={kv.Value.ToStringUtf8()} c{kv.CreateRevision} m{kv.ModRevision} v{kv.Version}")) +
                    $"\nheader revision {all.Header.Revision}");
            }
            Assert.All(views, v => Assert.Equal(views[0], v));
            await cluster.WaitForEqualHashKVAsync(cluster.Nodes, TimeSpan.FromSeconds(30));
        });

    /// <summary>
    /// 7. A watch from revision 0 opened on a follower right after a write acknowledged by the leader starts at or
    /// after that write (the member waits for its applied index to reach the leader's commit before creating it).
    /// </summary>
    [Fact(Timeout = 120_000)]
    public Task WatchFromRevisionZeroOnFollowerStartsAfterAcknowledgedWrite() =>
        WithClusterAsync(new CairnClusterOptions(), TimeSpan.FromSeconds(90), async (cluster, ct) =>
        {
            var leader = await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(30));
            var followers = cluster.Nodes.Where(n => n != leader).ToList();
            for (var round = 0; round < 30; round++)
            {
                var follower = followers[round % followers.Count];
                var put = await leader.PutAsync($"w7-{round}", $"v{round}");
                using var call = follower.Channel.DuplexStreaming<WatchRequest, WatchResponse>("/etcdserverpb.Watch/Watch", WatchResponse.Parser,
                    deadline: DateTime.UtcNow + TimeSpan.FromSeconds(20));
                await call.WriteAsync(new WatchRequest
                {
                    CreateRequest = new WatchCreateRequest { Key = ByteString.CopyFromUtf8($"w7-{round}"), StartRevision = 0 },
                });
                Assert.True(await call.MoveNextAsync(), $"watch on {follower.Name} ended without a created response");
                var created = call.Current;
                Assert.True(created.Created, $"first watch response is not 'created': {created}");
                Assert.True(created.Header.Revision >= put.Header.Revision,
                    $"round {round}: watch (rev 0) on follower {follower.Name} created at header revision {created.Header.Revision}, " +
                    $"before the write acknowledged by the leader at revision {put.Header.Revision}");
            }
            Log("30 rounds: every rev-0 watch on a follower was created at or after the acknowledged write");
        });
}

/// <summary>Leader failure and recovery.</summary>
[Collection(ClusterCollection.Name)]
public sealed class LeaderKill(ITestOutputHelper output) : ClusterTestBase(output)
{
    /// <summary>
    /// 2. kill -9 the leader: a new leader within three election timeouts, writes resume, and the old leader restarts,
    /// catches up and ends with the same HashKV at the same revision.
    /// </summary>
    [Fact(Timeout = 180_000)]
    public Task KillLeaderNewLeaderWritesResumeOldLeaderCatchesUp() =>
        WithClusterAsync(new CairnClusterOptions(), TimeSpan.FromSeconds(150), async (cluster, ct) =>
        {
            var election = TimeSpan.FromMilliseconds(cluster.Options.ElectionMs);
            var leader = await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(30));
            Log($"leader is {leader.Name} ({leader.Id:x16})");
            for (var i = 0; i < 200; i++)
                await leader.PutAsync($"before-{i % 20}", $"v{i}");
            var oldTerm = (await leader.StatusAsync()).RaftTerm;

            var sw = Stopwatch.StartNew();
            await leader.KillAsync();
            var survivors = cluster.Nodes.Where(n => n != leader).ToList();
            var newLeader = await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(30), survivors);
            var electionTime = sw.Elapsed;
            var newTerm = (await newLeader.StatusAsync()).RaftTerm;
            Log($"MEASURED election after leader kill: {electionTime.TotalMilliseconds:0} ms " +
                $"(new leader {newLeader.Name}, term {oldTerm} -> {newTerm}; election timeout {election.TotalMilliseconds:0} ms, bound 3x = {3 * election.TotalMilliseconds:0} ms)");
            Assert.True(newTerm > oldTerm, $"term did not advance ({oldTerm} -> {newTerm})");
            Assert.True(electionTime <= 3 * election,
                $"new leader after {electionTime.TotalMilliseconds:0} ms, more than 3 election timeouts ({3 * election.TotalMilliseconds:0} ms)");

            // Writes resume, through both survivors.
            var firstWrite = Stopwatch.StartNew();
            await RetryAsync(() => newLeader.PutAsync("after-kill", "first"), TimeSpan.FromSeconds(20));
            Log($"first write after the kill acknowledged {firstWrite.ElapsedMilliseconds} ms after the new leader was seen");
            for (var i = 0; i < 300; i++)
                await survivors[i % 2].PutAsync($"after-{i % 30}", $"v{i}");

            // The old leader restarts and catches up.
            var restart = Stopwatch.StartNew();
            leader.Start();
            await leader.WaitReadyAsync(TimeSpan.FromSeconds(60));
            var ready = restart.Elapsed;
            var (revision, hash) = await cluster.WaitForEqualHashKVAsync(cluster.Nodes, TimeSpan.FromSeconds(60));
            var caughtUp = restart.Elapsed;
            Log($"MEASURED restart catch-up: old leader {leader.Name} answered with a leader after {ready.TotalMilliseconds:0} ms, " +
                $"equal HashKV on all three after {caughtUp.TotalMilliseconds:0} ms (revision {revision}, hash {hash})");

            var got = await leader.RangeAsync("after-kill");
            Assert.Equal("first", Assert.Single(got.Kvs).Value.ToStringUtf8());
            // And it takes writes again.
            var put = await leader.PutAsync("after-restart", "x");
            foreach (var n in cluster.Nodes)
                Assert.Equal(put.Header.Revision, Assert.Single((await n.RangeAsync("after-restart")).Kvs).ModRevision);
        });
}
