using System.Collections.Concurrent;
using System.Diagnostics;
using Cairn.IntegrationTests.Infrastructure;
using Cairn.Protocol;
using Etcdserverpb;
using Google.Protobuf;
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
            // From its very first answer on, c4 reports itself a learner (it serves clients only once the replicated
            // member list, which says so, holds its attributes).
            var first = await RetryAsync(() => c4.StatusAsync(TimeSpan.FromSeconds(3)), TimeSpan.FromSeconds(60));
            Assert.True(first.IsLearner, "the first Status of a member added as a learner said IsLearner = false");
            await c4.WaitReadyAsync(TimeSpan.FromSeconds(60));
            Assert.True((await c4.StatusAsync()).IsLearner);
            Log($"c4 ({c4.Id:x16}) up as a learner after {joined.ElapsedMilliseconds} ms");
            await CheckLearnerRestrictionsAsync(c4);

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

    /// <summary>
    /// The cluster id of a member added after earlier membership changes: add c4, remove c1, add c5 (whose
    /// --initial-cluster lists c2..c5, so the founders' id cannot be derived from it). c5 learns the id and the member
    /// list from its peers: it joins, and its headers carry the same cluster_id as everyone's. A member that was never
    /// added refuses to start, with an error that says why.
    /// </summary>
    [Fact(Timeout = 240_000)]
    public Task MemberAddedAfterChangesLearnsTheClusterIdFromItsPeers() =>
        WithClusterAsync(new CairnClusterOptions(), TimeSpan.FromSeconds(210), async (cluster, ct) =>
        {
            var (c1, c2, c3) = (cluster.Nodes[0], cluster.Nodes[1], cluster.Nodes[2]);
            var clusterId = (await c2.StatusAsync()).Header.ClusterId;
            await c2.PutAsync("id/before", "1");

            async Task<CairnNode> AddAsync(string name, IEnumerable<CairnNode> others)
            {
                var node = cluster.CreateNode(name);
                // Retried as an operator would: right after a removal the cluster may be electing a leader (when the
                // removed member led it). A retry of an add that went through meanwhile finds its URL taken.
                var sw = Stopwatch.StartNew();
                while (true)
                {
                    var add = await c2.Etcdctl.RunAsync(["member", "add", name, $"--peer-urls={node.PeerUrl}"]);
                    if (add.Succeeded || add.StderrText.Contains("Peer URLs already exists", StringComparison.Ordinal))
                        break;
                    Assert.True(sw.Elapsed < TimeSpan.FromSeconds(30), $"member add {name} failed for 30 s: {add.StderrText}{add.StdoutText}");
                    Log($"member add {name} failed, retrying: {add.StderrText.Trim().Split('\n')[^1]}");
                    await Task.Delay(1000, ct);
                }
                node.Flags = cluster.FlagsFor(node, cluster.InitialCluster(others.Append(node)), "existing");
                node.Start();
                await node.WaitReadyAsync(TimeSpan.FromSeconds(60));
                Log($"{name} ({node.Id:x16}) joined");
                return node;
            }

            var c4 = await AddAsync("c4", [c1, c2, c3]);
            var remove = await c2.Etcdctl.RunAsync(["member", "remove", c1.Id.ToString("x")]);
            Assert.True(remove.Succeeded, $"member remove failed: {remove.StderrText}{remove.StdoutText}");
            await c1.KillAsync();
            await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(30), [c2, c3, c4]);
            var c5 = await AddAsync("c5", [c2, c3, c4]);

            var put = await RetryAsync(() => c5.PutAsync("id/after", "2", TimeSpan.FromSeconds(5)), TimeSpan.FromSeconds(30));
            Assert.Equal(clusterId, put.Header.ClusterId);
            Assert.Equal(c5.Id, put.Header.MemberId);
            foreach (var node in new[] { c2, c3, c4, c5 })
                Assert.Equal(clusterId, (await node.StatusAsync()).Header.ClusterId);
            var got = await RetryAsync(() => c5.RangeAsync("id/before"), TimeSpan.FromSeconds(20));
            Assert.Equal("1", Assert.Single(got.Kvs).Value.ToStringUtf8());
            await cluster.WaitForEqualHashKVAsync([c2, c3, c4, c5], TimeSpan.FromSeconds(60));
            Log($"c5's headers carry cluster id {clusterId:x16}, as everyone's; c2..c5 equal HashKV");

            // A restart needs neither the peers nor the flags for the id: it is in the data dir.
            await c5.KillAsync();
            c5.Start();
            await c5.WaitReadyAsync(TimeSpan.FromSeconds(60));
            Assert.Equal(clusterId, (await c5.StatusAsync()).Header.ClusterId);

            // Never added: the peers' member list does not name it, so it must not start.
            var stray = cluster.CreateNode("c6");
            stray.Flags = cluster.FlagsFor(stray, cluster.InitialCluster([c2, c3, c4, c5, stray]), "existing");
            stray.Start();
            var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => stray.WaitReadyAsync(TimeSpan.FromSeconds(60)));
            Assert.Contains("exited with code 1", refused.Message);
            Assert.True(stray.LogContains("could not learn the cluster id"), stray.LogTail());
            Log($"a member never added refuses to start: {stray.LogLines().First(l => l.Contains("could not learn", StringComparison.Ordinal))}");

            // Added, but started with an out-of-date list (c4 left out): refused before it does anything, as etcd refuses
            // it ("member count is unequal"); the cluster is untouched and the added member is removed again.
            var late = cluster.CreateNode("c7");
            var added = await c2.Etcdctl.RunAsync(["member", "add", "c7", $"--peer-urls={late.PeerUrl}"]);
            Assert.True(added.Succeeded, $"member add c7 failed: {added.StderrText}{added.StdoutText}");
            late.Flags = cluster.FlagsFor(late, cluster.InitialCluster([c2, c3, c5, late]), "existing");
            late.Start();
            var mismatch = await Assert.ThrowsAsync<InvalidOperationException>(() => late.WaitReadyAsync(TimeSpan.FromSeconds(60)));
            Assert.Contains("exited with code 1", mismatch.Message);
            Assert.True(late.LogContains("member count is unequal"), late.LogTail());
            Log($"a member started with an out-of-date list refuses to start: {late.LogLines().First(l => l.Contains("unequal", StringComparison.Ordinal))}");
            // etcdctl: "Member 3007db483f2f18c4 added to cluster a77614252efe4105".
            var lateId = added.StdoutText.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1];
            var removed = await c2.Etcdctl.RunAsync(["member", "remove", lateId]);
            Assert.True(removed.Succeeded, $"member remove c7 failed: {removed.StderrText}{removed.StdoutText}");
        });

    /// <summary>
    /// etcd 3.4 on a learner: Status and serializable Range are served; every other call, and every stream, fails with
    /// Unavailable "etcdserver: rpc not supported for learner" (rpctypes.ErrGPRCNotSupportedForLearner).
    /// </summary>
    private async Task CheckLearnerRestrictionsAsync(CairnNode learner)
    {
        const string Refused = "etcdserver: rpc not supported for learner";
        var deadline = () => DateTime.UtcNow + TimeSpan.FromSeconds(10);
        async Task ExpectRefused(string what, Func<Task> call)
        {
            var e = await Assert.ThrowsAsync<RpcException>(call);
            Assert.True(e.Status == StatusCode.Unavailable && e.Message == Refused, $"{what} on a learner: {e.Status} \"{e.Message}\"");
        }

        Assert.NotNull(await learner.RangeAsync("m/k1", serializable: true));
        await ExpectRefused("linearizable Range", () => learner.RangeAsync("m/k1"));
        await ExpectRefused("Put", () => learner.PutAsync("m/learner", "x"));
        await ExpectRefused("MemberList", () => learner.Channel.UnaryAsync("/etcdserverpb.Cluster/MemberList", new MemberListRequest(),
            MemberListResponse.Parser, deadline: deadline()));
        await ExpectRefused("LeaseGrant", () => learner.Channel.UnaryAsync("/etcdserverpb.Lease/LeaseGrant", new LeaseGrantRequest { TTL = 10 },
            LeaseGrantResponse.Parser, deadline: deadline()));
        await ExpectRefused("HashKV", () => learner.HashKVAsync());
        await ExpectRefused("Watch", async () =>
        {
            using var watch = learner.Channel.DuplexStreaming<WatchRequest, WatchResponse>("/etcdserverpb.Watch/Watch", WatchResponse.Parser, deadline: deadline());
            // Nothing written first: the refusal comes before any request is read, and a write racing with it fails
            // on the client with a connection error instead of the status (a client-side race, not the answer).
            while (await watch.MoveNextAsync())
            {
            }
        });
        await ExpectRefused("Snapshot", async () =>
        {
            using var snapshot = learner.Channel.ServerStreaming<SnapshotRequest, SnapshotResponse>("/etcdserverpb.Maintenance/Snapshot", new SnapshotRequest(),
                SnapshotResponse.Parser, deadline: deadline());
            while (await snapshot.MoveNextAsync())
            {
            }
        });
        // etcdctl's endpoint status (Status) works against the learner.
        var status = await learner.Etcdctl.RunAsync(["endpoint", "status", "-w", "json"]);
        Assert.True(status.Succeeded && status.StdoutText.Contains("\"isLearner\":true", StringComparison.Ordinal), $"etcdctl endpoint status: {status.StderrText}{status.StdoutText}");
        Log("learner: Status and serializable Range served; Range, Put, MemberList, LeaseGrant, HashKV, Watch, Snapshot refused as etcd refuses them");
    }
}
