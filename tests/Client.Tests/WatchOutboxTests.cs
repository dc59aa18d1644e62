using System.Collections.Concurrent;
using Cairn.Client.Tests.Infra;
using Etcdserverpb;
using static Cairn.Client.Tests.Infra.Scripted;

namespace Cairn.Client.Tests;

/// <summary>
/// The watch stream's request outbox is bounded (<see cref="EtcdClientOptions.WatchOutboxCapacity"/>):
/// creates go out a window at a time, and a member that stops reading the stream while requests
/// pile up costs the stream, not memory. Against a scripted stream.
/// </summary>
public sealed class WatchOutboxTests
{
    private static readonly string[] Endpoints = ["http://fake1:1", "http://fake2:2", "http://fake3:3"];

    private static EtcdClient NewClient(FakeWatchTransport transport, ConcurrentQueue<string>? log = null) => new(new EtcdClientOptions
    {
        Endpoints = Endpoints,
        WatchOutboxCapacity = 8,
        WatchProbeInterval = Timeout.InfiniteTimeSpan,
        WatchMaxBackoff = TimeSpan.FromMilliseconds(50),
        Log = log == null ? null : log.Enqueue,
    }, transport);

    private static int Creates(FakeStream stream)
    {
        lock (stream.Requests)
        {
            return stream.Requests.Count(r => r.CreateRequest != null);
        }
    }

    /// <summary>Reads a watch until its created notification (and, with <paramref name="revision"/>, until that revision's event).</summary>
    private static async Task<WatchBatch> ReadUntil(EtcdClient client, string key, CancellationToken cancellationToken, long? revision = null)
    {
        await foreach (var batch in client.Watch(key, new WatchOptions { StartRevision = 1, CreatedNotify = true }, cancellationToken))
        {
            if (revision == null ? batch.IsCreated : batch.Events.Any(e => e.Kv.ModRevision == revision))
            {
                return batch;
            }
        }
        throw new InvalidOperationException("watch ended");
    }

    [Fact]
    public async Task CreatesGoOutAWindowAtATime()
    {
        var transport = new FakeWatchTransport { OnOpen = s => s.AutoCreated = false };
        await using var client = NewClient(transport);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var watches = Enumerable.Range(0, 10).Select(i => ReadUntil(client, "k" + i, cts.Token)).ToList();
        await WaitUntil(() => transport.Streams.Count == 1 && Creates(transport.Streams[0]) == 2);
        var stream = transport.Streams[0];
        // A window of 8 / 4 = 2 creates in flight: the other 8 watches wait for answers, not in the outbox.
        await Task.Delay(300);
        Assert.Equal(2, Creates(stream));
        for (var answered = 0; answered < 10; answered++)
        {
            var expected = Math.Min(answered + 2, 10);
            await WaitUntil(() => Creates(stream) >= expected);
            Assert.Equal(expected, Creates(stream));
            stream.Send(new WatchResponse { Header = new ResponseHeader { Revision = 1 }, WatchId = 500 + answered, Created = true });
        }
        await Task.WhenAll(watches);
        Assert.Single(transport.Streams);
    }

    [Fact]
    public async Task AMemberThatStopsReadingCostsTheStreamNotMemory()
    {
        var transport = new FakeWatchTransport();
        transport.OnOpen = s => s.OnCreate = (create, id) => s.Number == 1 ? [] : [Batch(id, [Ev(5, create.Key.ToStringUtf8())])];
        var log = new ConcurrentQueue<string>();
        await using var client = NewClient(transport, log);
        using var all = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var leaving = CancellationTokenSource.CreateLinkedTokenSource(all.Token);
        var survivor = ReadUntil(client, "stay", all.Token, revision: 5);
        var created = 0;
        var doomed = Enumerable.Range(0, 12).Select(async i =>
        {
            // Held until the test lets go of it (leaving the loop sends a cancel).
            await foreach (var batch in client.Watch("go" + i, new WatchOptions { StartRevision = 1, CreatedNotify = true }, leaving.Token))
            {
                if (batch.IsCreated)
                {
                    Interlocked.Increment(ref created);
                }
            }
        }).ToList();
        await WaitUntil(() => Volatile.Read(ref created) == 12 && transport.Streams.Count == 1 && Creates(transport.Streams[0]) == 13);
        var first = transport.Streams[0];
        // The member stops reading: the writer blocks on the first of the 12 cancels, the outbox (8)
        // fills with the next ones, and the first that does not fit gives the stream up.
        first.WriteGate = new TaskCompletionSource().Task;
        leaving.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Task.WhenAll(doomed));

        var resumed = await survivor;
        Assert.Equal("http://fake2:2/", resumed.Endpoint);
        Assert.True(first.Disposed);
        Assert.Contains(log, line => line.Contains("watch request outbox full", StringComparison.Ordinal));
        // The watch still wanted is re-created on the next stream (cancelled ones whose removal was
        // still queued may be too, and are cancelled there).
        var second = transport.Streams[1];
        lock (second.Requests)
        {
            Assert.Contains("stay", second.Requests.Where(r => r.CreateRequest != null).Select(r => r.CreateRequest.Key.ToStringUtf8()));
        }
    }
}
