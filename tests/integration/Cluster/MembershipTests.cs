using System.Collections.Concurrent;
using System.Diagnostics;
using Cairn.IntegrationTests.Infrastructure;
using Etcdserverpb;
using Xunit.Abstractions;

namespace Cairn.IntegrationTests.Cluster;

/// <summary>Membership changes with etcdctl while a writer keeps writing.</summary>
[Collection(ClusterCollection.Name)]
public sealed class Membership(ITestOutputHelper output) : ClusterTestBase(output)
{
    /// <summary>
    /// 5. Add c4 as a learner (etcdctl member add --learner), start it with --initial-cluster-state existing, promote it
    /// (retrying while it is not caught up, as an operator would), remove c1 — with a writer running throughout. The
    /// cluster stays available (no long gap between acknowledged writes), and c2, c3, c4 end with equal HashKV and
    /// every acknowledged write.
    /// </summary>
    [Fact(Timeout = 240_000)]
    public Task AddLearnerPromoteRemoveWhileWriting() =>
        WithClusterAsync(new CairnClusterOptions(), TimeSpan.FromSeconds(210), async (cluster, ct) =>
        {
            var c1 = cluster.Nodes[0];
            var stayers = cluster.Nodes.Skip(1).ToList(); // c2, c3: the writer never needs c1
            var ctl = stayers[0].Etcdctl;

            var lastAcked = new ConcurrentDictionary<string, string>();
            var maxGap = TimeSpan.Zero;
            var errors = 0;
            using var stop = new CancellationTokenSource();
            var writer = Task.Run(async () =>
            {
                var sinceAck = Stopwatch.StartNew();
                for (var i = 0; !stop.IsCancellationRequested; i++)
                {
                    var key = $"m/k{i % 50}";
                    try
                    {
                        await stayers[i % 2].PutAsync(key, $"v{i}", TimeSpan.FromSeconds(5));
                        lastAcked[key] = $"v{i}";
                        if (sinceAck.Elapsed > maxGap)
                            maxGap = sinceAck.Elapsed;
                        sinceAck.Restart();
                    }
                    catch (Exception)
                    {
                        Interlocked.Increment(ref errors);
                        lastAcked.TryRemove(key, out _); // outcome unknown: do not check this key's value
                        await Task.Delay(50);
                    }
                    await Task.Delay(10);
                }
            });

            await Task.Delay(1000, ct);
            var c4 = cluster.CreateNode("c4");
            var add = await ctl.RunAsync(["member", "add", "c4", $"--peer-urls={c4.PeerUrl}", "--learner"]);
            Assert.True(add.Succeeded, $"member add failed: {add.StderrText}{add.StdoutText}");
            Log($"etcdctl member add --learner: {add.StdoutText.Split('\n')[0].Trim()}");

            c4.Flags = cluster.FlagsFor(c4, cluster.InitialCluster(cluster.Nodes), "existing");
            var joined = Stopwatch.StartNew();
            c4.Start();
            await c4.WaitReadyAsync(TimeSpan.FromSeconds(60));
            // A joiner learns the configuration (that it is a learner) from the leader's snapshot, shortly after it
            // first hears from the leader.
            await RetryAsync(async () => (await c4.StatusAsync()).IsLearner ? true : throw new InvalidOperationException("not a learner (yet)"),
                TimeSpan.FromSeconds(20));
            Log($"c4 ({c4.Id:x16}) up as a learner after {joined.ElapsedMilliseconds} ms");

            var promoteClock = Stopwatch.StartNew();
            CommandResult promote;
            var attempts = 0;
            while (true)
            {
                attempts++;
                promote = await ctl.RunAsync(["member", "promote", c4.Id.ToString("x")]);
                if (promote.Succeeded || promoteClock.Elapsed > TimeSpan.FromSeconds(30))
                    break;
                Log($"promote attempt {attempts}: {promote.StderrText.Trim()}");
                await Task.Delay(1000, ct);
            }
            Assert.True(promote.Succeeded, $"member promote failed for 30 s: {promote.StderrText}{promote.StdoutText}");
            Log($"etcdctl member promote: {promote.StdoutText.Trim()} (attempt {attempts}, {promoteClock.ElapsedMilliseconds} ms)");
            await RetryAsync(async () => (await c4.StatusAsync()).IsLearner ? throw new InvalidOperationException("still a learner") : true, TimeSpan.FromSeconds(20));

            var remove = await ctl.RunAsync(["member", "remove", c1.Id.ToString("x")]);
            Assert.True(remove.Succeeded, $"member remove failed: {remove.StderrText}{remove.StdoutText}");
            Log($"etcdctl member remove: {remove.StdoutText.Trim()}");

            await Task.Delay(3000, ct);
            stop.Cancel();
            await writer.WaitAsync(TimeSpan.FromSeconds(30));
            Log($"writer: {lastAcked.Count} keys with a known last value, {errors} failed puts, longest gap between acknowledged puts {maxGap.TotalMilliseconds:0} ms");
            Assert.True(maxGap < TimeSpan.FromSeconds(10), $"the cluster was unavailable for {maxGap.TotalMilliseconds:0} ms");

            var remaining = new List<CairnNode> { stayers[0], stayers[1], c4 };
            var list = await stayers[0].Channel.UnaryAsync("/etcdserverpb.Cluster/MemberList", new MemberListRequest(), MemberListResponse.Parser,
                deadline: DateTime.UtcNow + TimeSpan.FromSeconds(10));
            Assert.Equal(remaining.Select(n => n.Id).Order(), list.Members.Select(m => m.ID).Order());
            Assert.All(list.Members, m => Assert.False(m.IsLearner));
            await c1.KillAsync(); // removed: whatever it does now, it is no longer part of the cluster

            await cluster.WaitForEqualHashKVAsync(remaining, TimeSpan.FromSeconds(60));
            foreach (var (key, value) in lastAcked)
            {
                var got = await c4.RangeAsync(key);
                Assert.Equal(value, Assert.Single(got.Kvs).Value.ToStringUtf8());
            }
            Log("c2, c3, c4: equal HashKV; c4 has every acknowledged write's value");
        });
}
