using System.Collections.Concurrent;
using System.Diagnostics;
using Cairn.Client.Tests.Infra;
using Xunit.Abstractions;

namespace Cairn.Client.Tests;

/// <summary>
/// A read pinned to a frozen member (SIGSTOP: the kernel still accepts its connections and bytes,
/// nothing answers) gives up on it after <see cref="EtcdClientOptions.ReadAttemptTimeout"/> and is
/// served by another member within the call's deadline; without the per-attempt bound the same
/// read spends its whole deadline on the frozen member and fails.
/// </summary>
[Collection("clusters")]
public sealed class ReadAttemptTimeoutTests(ITestOutputHelper output)
{
    [Fact]
    public async Task ReadOnFrozenMemberMovesOnWithinTheDeadline()
    {
        await using var cluster = await CairnCluster.StartAsync();
        var log = new ConcurrentQueue<string>();
        EtcdClientOptions Options(TimeSpan attempt) => new()
        {
            Endpoints = cluster.Endpoints.ToList(),
            CallTimeout = TimeSpan.FromSeconds(5),
            ReadAttemptTimeout = attempt,
            Log = log.Enqueue,
        };
        await using var bounded = new EtcdClient(Options(TimeSpan.FromSeconds(1)));
        await using var unbounded = new EtcdClient(Options(Timeout.InfiniteTimeSpan));
        var written = (await bounded.PutAsync("frozen/k", "v")).Header.Revision;
        // Both clients have a live connection to member 1, where their calls are pinned.
        await unbounded.GetAsync("frozen/k");
        Assert.Equal(cluster.Endpoints[0] + "/", bounded.CurrentEndpoint);
        Assert.Equal(cluster.Endpoints[0] + "/", unbounded.CurrentEndpoint);

        cluster.Pause(0);
        try
        {
            var sw = Stopwatch.StartNew();
            var got = await bounded.GetAsync("frozen/k", new GetOptions { Serializable = true });
            var took = sw.Elapsed;
            output.WriteLine($"bounded read served in {took.TotalMilliseconds:F0} ms; log:\n  {string.Join("\n  ", log)}");
            Assert.Equal("v", got.Kvs.Single().Value.ToStringUtf8());
            Assert.True(got.Header.Revision >= written);
            Assert.True(took >= TimeSpan.FromMilliseconds(900), $"the read should have tried the frozen member first ({took})");
            Assert.True(took < TimeSpan.FromSeconds(4), $"the read waited {took} although the attempt bound is 1 s");
            Assert.NotEqual(cluster.Endpoints[0] + "/", bounded.CurrentEndpoint);
            Assert.Contains(log, l => l.Contains(cluster.Endpoints[0], StringComparison.Ordinal) && l.Contains("DeadlineExceeded", StringComparison.Ordinal));

            // The control: one attempt with the whole deadline never leaves the frozen member.
            sw.Restart();
            var e = await Assert.ThrowsAsync<EtcdException>(() => unbounded.GetAsync("frozen/k", new GetOptions { Serializable = true }));
            output.WriteLine($"unbounded read failed after {sw.Elapsed.TotalMilliseconds:F0} ms: {e.Status}: {e.Message}");
            Assert.Equal(Cairn.Protocol.StatusCode.DeadlineExceeded, e.Status);
        }
        finally
        {
            cluster.Resume(0);
        }
    }
}
