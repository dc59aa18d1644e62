using System.Collections.Concurrent;
using System.Diagnostics;
using Cairn.Client.Tests.Infra;
using Xunit.Abstractions;

namespace Cairn.Client.Tests;

/// <summary>
/// A read pinned to a frozen member (SIGSTOP: the kernel still accepts its connections and bytes,
/// nothing answers) gives up on it after <see cref="EtcdClientOptions.ReadAttemptTimeout"/> and is
/// served by the next endpoint within the call's deadline; without the per-attempt bound the same
/// read spends its whole deadline on the frozen member and fails. The endpoints are two
/// single-member servers (the client logic under test does not care that they are not one cluster),
/// which keeps this test out of the serial cluster collection.
/// </summary>
public sealed class ReadAttemptTimeoutTests(CairnMember healthy, ITestOutputHelper output) : IClassFixture<CairnMember>
{
    [Fact]
    public async Task ReadOnFrozenMemberMovesOnWithinTheDeadline()
    {
        var frozen = new CairnMember();
        await frozen.InitializeAsync();
        try
        {
            var log = new ConcurrentQueue<string>();
            EtcdClientOptions Options(TimeSpan attempt) => new()
            {
                Endpoints = [frozen.Endpoint, healthy.Endpoint],
                CallTimeout = TimeSpan.FromSeconds(4),
                ReadAttemptTimeout = attempt,
                Log = log.Enqueue,
            };
            await using var bounded = new EtcdClient(Options(TimeSpan.FromSeconds(1)));
            await using var unbounded = new EtcdClient(Options(Timeout.InfiniteTimeSpan));
            await using (var direct = new EtcdClient(healthy.Endpoint))
            {
                await direct.PutAsync("frozen/k", "v");
            }
            // Both clients have a live connection to the first endpoint, where their calls are pinned.
            await bounded.GetAsync("frozen/k");
            await unbounded.GetAsync("frozen/k");
            Assert.Equal(frozen.Endpoint + "/", bounded.CurrentEndpoint);
            Assert.Equal(frozen.Endpoint + "/", unbounded.CurrentEndpoint);

            ChildProcesses.Signal(frozen.Pid, "STOP");
            var sw = Stopwatch.StartNew();
            var got = await bounded.GetAsync("frozen/k");
            var took = sw.Elapsed;
            output.WriteLine($"bounded read served in {took.TotalMilliseconds:F0} ms; log:\n  {string.Join("\n  ", log)}");
            Assert.Equal("v", got.Kvs.Single().Value.ToStringUtf8());
            Assert.True(took >= TimeSpan.FromMilliseconds(900), $"the read should have tried the frozen member first ({took})");
            Assert.True(took < TimeSpan.FromSeconds(3.5), $"the read waited {took} although the attempt bound is 1 s");
            Assert.Equal(healthy.Endpoint + "/", bounded.CurrentEndpoint);
            Assert.Contains(log, l => l.Contains(frozen.Endpoint, StringComparison.Ordinal) && l.Contains("DeadlineExceeded", StringComparison.Ordinal));

            // The control: one attempt with the whole deadline never leaves the frozen member.
            sw.Restart();
            var e = await Assert.ThrowsAsync<EtcdException>(() => unbounded.GetAsync("frozen/k"));
            output.WriteLine($"unbounded read failed after {sw.Elapsed.TotalMilliseconds:F0} ms: {e.Status}: {e.Message}");
            Assert.Equal(Cairn.Protocol.StatusCode.DeadlineExceeded, e.Status);
        }
        finally
        {
            await frozen.DisposeAsync();
        }
    }
}
