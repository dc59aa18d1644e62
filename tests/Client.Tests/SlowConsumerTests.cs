using System.Collections.Concurrent;
using System.Diagnostics;
using Cairn.Client.Tests.Infra;
using Mvccpb;
using Xunit.Abstractions;

namespace Cairn.Client.Tests;

/// <summary>
/// A consumer that stops reading costs bounded memory (its watch is suspended when its queue is
/// full) and loses nothing (the watch resumes from its last delivered revision + 1), while another
/// watch on the same shared stream keeps flowing.
/// </summary>
public sealed class SlowConsumerTests(CairnMember server, ITestOutputHelper output) : IClassFixture<CairnMember>
{
    private const int Events = 10_000;
    private const int OpsPerTxn = 50;

    [Fact]
    public async Task StalledConsumerGetsEveryEventOnceWhileAnotherWatchFlows()
    {
        var log = new ConcurrentQueue<string>();
        var options = server.ClientOptions();
        options.WatchQueueCapacity = 32;
        options.Log = log.Enqueue;
        await using var client = new EtcdClient(options);
        var prefix = $"slow-{Guid.NewGuid():N}"[..13] + "/";
        var start = (await client.PutAsync(prefix + "start", "0")).Header.Revision + 1;
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var watchOptions = new WatchOptions { StartRevision = start };

        // Both watches share the client's one stream; the stalled one is opened first and its
        // enumerator taken one step, so its watch exists on the server before the writes start.
        var flowing = new List<Event>();
        var stalledEnumerator = client.Watch(KeyRange.Prefix(prefix), watchOptions with { CreatedNotify = true }, cts.Token).GetAsyncEnumerator(cts.Token);
        Assert.True(await stalledEnumerator.MoveNextAsync());
        Assert.True(stalledEnumerator.Current.IsCreated);
        var flowingDone = Task.Run(async () =>
        {
            await foreach (var batch in client.Watch(KeyRange.Prefix(prefix), watchOptions, cts.Token))
            {
                lock (flowing)
                {
                    flowing.AddRange(batch.Events);
                    if (flowing.Count >= Events)
                    {
                        return;
                    }
                }
            }
        });

        // 10 000 events: transactions of 50 puts, from 4 writers at once.
        var sw = Stopwatch.StartNew();
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            int t;
            while ((t = Interlocked.Increment(ref next)) < Events / OpsPerTxn)
            {
                var ops = Enumerable.Range(0, OpsPerTxn).Select(i => Op.Put($"{prefix}k{i:D2}", $"{t}")).ToArray();
                await client.Txn().Then(ops).CommitAsync(cancellationToken: cts.Token);
            }
        })));
        output.WriteLine($"wrote {Events} events in {sw.ElapsedMilliseconds} ms");

        // The other watch got everything while the first consumer read nothing.
        await flowingDone.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(Events, flowing.Count);
        Assert.Contains(log, l => l.Contains("suspended", StringComparison.Ordinal));

        // Now the stalled consumer reads: every event exactly once, in order.
        var stalled = new List<Event>();
        var last = flowing[^1].Kv.ModRevision;
        while ((stalled.Count == 0 || stalled[^1].Kv.ModRevision < last) && await stalledEnumerator.MoveNextAsync())
        {
            stalled.AddRange(stalledEnumerator.Current.Events);
        }
        await stalledEnumerator.DisposeAsync();
        var suspensions = log.Count(l => l.Contains("suspended", StringComparison.Ordinal));
        output.WriteLine($"stalled watch: {stalled.Count} events, suspended {suspensions} times; log (first 5):\n  {string.Join("\n  ", log.Take(5))}");
        Assert.Equal(Events, stalled.Count);
        Assert.Empty(HistoryChecker.Check(flowing, stalled));
    }
}
