using System.Collections.Concurrent;
using System.Diagnostics;
using Cairn.IntegrationTests.Infrastructure;
using Etcdserverpb;
using Google.Protobuf;
using Xunit.Abstractions;

namespace Cairn.IntegrationTests.Cluster;

/// <summary>Every member killed at once under load; every acknowledged write survives.</summary>
[Collection(ClusterCollection.Name)]
public sealed class WholeClusterCrash(ITestOutputHelper output) : ClusterTestBase(output)
{
    private const int WriterCount = 6;
    private const int KeysPerWriter = 10;

    /// <summary>
    /// 3. Writers put through every member and record each acknowledged put (key, value, revision) and each put whose
    /// outcome is unknown (in flight or failed). kill -9 all three members mid-load, restart them: every acknowledged
    /// put is in the history at its revision with its value, and each key's current value is its last acknowledged
    /// value or that of a later put whose outcome was unknown — never anything else.
    /// </summary>
    [Fact(Timeout = 240_000)]
    public Task KillAllMembersMidLoadEveryAcknowledgedWriteSurvives() =>
        WithClusterAsync(new CairnClusterOptions(), TimeSpan.FromSeconds(210), async (cluster, ct) =>
        {
            var acked = new ConcurrentBag<(string Key, string Value, long Revision, int Seq)>();
            var unknown = new ConcurrentDictionary<string, ConcurrentBag<int>>();
            var lastAcked = new ConcurrentDictionary<string, int>();
            using var stop = new CancellationTokenSource();
            var nodes = cluster.Nodes.ToList();
            var writers = Enumerable.Range(0, WriterCount).Select(w => Task.Run(async () =>
            {
                for (var seq = 0; !stop.IsCancellationRequested; seq++)
                {
                    var key = $"crash/w{w}/k{seq % KeysPerWriter}";
                    var value = $"w{w}-{seq}";
                    var target = nodes[(w + seq) % nodes.Count];
                    try
                    {
                        var put = await target.PutAsync(key, value, TimeSpan.FromSeconds(5));
                        acked.Add((key, value, put.Header.Revision, seq));
                        lastAcked[key] = seq;
                    }
                    catch (Exception)
                    {
                        unknown.GetOrAdd(key, _ => []).Add(seq);
                        await Task.Delay(20);
                    }
                }
            })).ToList();

            await Task.Delay(TimeSpan.FromSeconds(6), ct);
            var countAtKill = acked.Count;
            Log($"{countAtKill} puts acknowledged; kill -9 all three members now");
            await Task.WhenAll(nodes.Select(n => n.KillAsync()));
            await Task.Delay(500);
            stop.Cancel();
            await Task.WhenAll(writers).WaitAsync(TimeSpan.FromSeconds(30));
            Log($"{acked.Count} puts acknowledged in total, {unknown.Values.Sum(b => b.Count)} with an unknown outcome");
            Assert.True(acked.Count > 50, $"only {acked.Count} puts were acknowledged before the kill: the load did not run");

            var restart = Stopwatch.StartNew();
            foreach (var n in nodes)
                n.Start();
            foreach (var n in nodes)
                await n.WaitReadyAsync(TimeSpan.FromSeconds(90));
            var leader = await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(30));
            Log($"MEASURED whole-cluster restart: all three members up with a leader ({leader.Name}) after {restart.ElapsedMilliseconds} ms");

            // Every acknowledged put is in the history, at its revision, with its value (read from every member).
            var all = acked.ToList();
            var failures = new ConcurrentQueue<string>();
            await Parallel.ForEachAsync(all, new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (a, _) =>
            {
                var node = nodes[(int)(a.Revision % nodes.Count)];
                var got = await RetryAsync(() => node.Channel.UnaryAsync("/etcdserverpb.KV/Range",
                    new RangeRequest { Key = ByteString.CopyFromUtf8(a.Key), Revision = a.Revision }, RangeResponse.Parser,
                    deadline: DateTime.UtcNow + TimeSpan.FromSeconds(10)), TimeSpan.FromSeconds(30));
                if (got.Kvs.Count != 1 || got.Kvs[0].Value.ToStringUtf8() != a.Value || got.Kvs[0].ModRevision != a.Revision)
                {
                    failures.Enqueue($"acknowledged put {a.Key}={a.Value} at revision {a.Revision}: {node.Name} has " +
                        (got.Kvs.Count == 0 ? "no value" : $"{got.Kvs[0].Value.ToStringUtf8()} mod {got.Kvs[0].ModRevision}") + " at that revision");
                }
            });
            Assert.True(failures.IsEmpty, $"{failures.Count} acknowledged puts lost or altered:\n{string.Join('\n', failures.Take(20))}");
            Log($"all {all.Count} acknowledged puts found at their revisions with their values");

            // Current values: the last acknowledged one, or a later put whose outcome was unknown.
            var current = await leader.RangeAsync("crash/", "crash0");
            var byKey = current.Kvs.ToDictionary(kv => kv.Key.ToStringUtf8(), kv => kv.Value.ToStringUtf8());
            for (var w = 0; w < WriterCount; w++)
            {
                for (var k = 0; k < KeysPerWriter; k++)
                {
                    var key = $"crash/w{w}/k{k}";
                    var hasAck = lastAcked.TryGetValue(key, out var last);
                    var maybe = unknown.TryGetValue(key, out var bag) ? bag.ToHashSet() : [];
                    if (!byKey.TryGetValue(key, out var value))
                    {
                        Assert.False(hasAck, $"{key}: acknowledged as w{w}-{last}, but absent after the restart");
                        continue;
                    }
                    var seq = int.Parse(value.Split('-')[1], System.Globalization.CultureInfo.InvariantCulture);
                    Assert.True(value.StartsWith($"w{w}-", StringComparison.Ordinal) && seq % KeysPerWriter == k, $"{key} holds {value}, never written to it");
                    var ok = (hasAck && seq == last) || (maybe.Contains(seq) && (!hasAck || seq > last));
                    Assert.True(ok, $"{key} holds {value}; last acknowledged {(hasAck ? $"w{w}-{last}" : "none")}, " +
                        $"unknown outcomes [{string.Join(',', maybe.Order())}]");
                }
            }
            Assert.True(byKey.Keys.All(k => k.StartsWith("crash/w", StringComparison.Ordinal)), "unexpected keys after the restart");

            // And the three members agree, and take writes again.
            await leader.PutAsync("after-crash", "ok");
            await cluster.WaitForEqualHashKVAsync(nodes, TimeSpan.FromSeconds(60));
            Log("every member has the same HashKV after the restart");
        });
}
