using System.Diagnostics;
using Cairn.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace Cairn.IntegrationTests.Cluster;

/// <summary>A member that was down while the log moved far ahead comes back by snapshot install.</summary>
[Collection(ClusterCollection.Name)]
public sealed class SnapshotCatchUp(ITestOutputHelper output) : ClusterTestBase(output)
{
    private const int Writes = 20_000;

    /// <summary>
    /// 4. With --snapshot-count 2000 (log compaction keeps 5000 entries behind), a follower is killed, 20 000 writes and
    /// a compaction happen, and the follower restarts: the leader no longer has the entries it needs, so it must be
    /// caught up by a snapshot ("received snapshot" in its log, its applied index jumps), ending with equal HashKV.
    /// </summary>
    [Fact(Timeout = 300_000)]
    public Task FollowerDownDuring20000WritesAndCompactionComesBackBySnapshot() =>
        WithClusterAsync(new CairnClusterOptions { SnapshotCount = 2000 }, TimeSpan.FromSeconds(270), async (cluster, ct) =>
        {
            var leader = await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(30));
            var down = cluster.Nodes.First(n => n != leader);
            var survivors = cluster.Nodes.Where(n => n != down).ToList();
            for (var i = 0; i < 100; i++)
                await leader.PutAsync($"warm-{i}", "x");
            var before = await down.StatusAsync();
            Log($"leader {leader.Name}; killing follower {down.Name} at applied index {before.RaftAppliedIndex}, revision {before.Header.Revision}");
            await down.KillAsync();

            var sw = Stopwatch.StartNew();
            var next = -1;
            long compactAt = 0;
            var writers = Enumerable.Range(0, 8).Select(w => Task.Run(async () =>
            {
                int i;
                while ((i = Interlocked.Increment(ref next)) < Writes)
                {
                    var target = survivors[i % survivors.Count];
                    var put = await RetryAsync(() => target.PutAsync($"key-{i % 2500:D5}", $"value-{i}"), TimeSpan.FromSeconds(30));
                    if (i == Writes / 2)
                        Interlocked.Exchange(ref compactAt, put.Header.Revision);
                }
            }, ct)).ToList();
            await Task.WhenAll(writers);
            Log($"{Writes} writes through the two survivors in {sw.Elapsed.TotalSeconds:0.0} s");

            var compaction = await leader.CompactAsync(compactAt);
            Log($"compacted at revision {compactAt} (header revision {compaction.Header.Revision})");
            for (var i = 0; i < 50; i++)
                await leader.PutAsync($"after-compact-{i}", "y");
            var leaderStatus = await leader.StatusAsync();
            Log($"leader at applied index {leaderStatus.RaftAppliedIndex}, revision {leaderStatus.Header.Revision}");

            var restart = Stopwatch.StartNew();
            down.Start();
            await down.WaitReadyAsync(TimeSpan.FromSeconds(60), requireLeader: false);
            var (revision, hash) = await cluster.WaitForEqualHashKVAsync(cluster.Nodes, TimeSpan.FromSeconds(120));
            var caughtUp = restart.Elapsed;
            var after = await down.StatusAsync();
            var snapshotLines = down.LogLines().Where(l => l.Contains("received snapshot", StringComparison.Ordinal)).ToList();
            Log($"MEASURED snapshot catch-up: {down.Name} restarted and reached equal HashKV in {caughtUp.TotalMilliseconds:0} ms " +
                $"(revision {revision}, hash {hash}, applied index {before.RaftAppliedIndex} -> {after.RaftAppliedIndex})");
            foreach (var line in snapshotLines)
                Log($"{down.Name}: {line.Trim()}");
            Assert.True(snapshotLines.Count > 0, $"{down.Name} caught up without a 'received snapshot' line in its log:\n{down.LogTail(80)}");

            // The compaction reached the restarted member too: a read below the compaction revision is refused.
            var ex = await Assert.ThrowsAsync<Cairn.Protocol.RpcException>(() =>
                down.Channel.UnaryAsync("/etcdserverpb.KV/Range",
                    new Etcdserverpb.RangeRequest { Key = Google.Protobuf.ByteString.CopyFromUtf8("key-00000"), Revision = compactAt - 1 },
                    Etcdserverpb.RangeResponse.Parser, deadline: DateTime.UtcNow + TimeSpan.FromSeconds(10)));
            Assert.Contains("compacted", ex.Message, StringComparison.Ordinal);
            var latest = await down.RangeAsync("key-00000");
            Assert.Equal((await leader.RangeAsync("key-00000")).Kvs[0].Value, Assert.Single(latest.Kvs).Value);
        });
}
