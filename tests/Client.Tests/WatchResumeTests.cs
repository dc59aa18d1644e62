using Cairn.Client.Tests.Infra;
using Cairn.Protocol;
using Etcdserverpb;
using Google.Protobuf;
using Mvccpb;
using static Cairn.Client.Tests.Infra.Scripted;

namespace Cairn.Client.Tests;

/// <summary>
/// The resume and exactly-once logic against a scripted stream: breaks mid-history, replays of
/// already delivered revisions, fragments split across a break, progress bookmarks, "from now"
/// watches, compaction, no-leader cancellation and a silent member.
/// </summary>
public sealed class WatchResumeTests
{
    private static readonly string[] Endpoints = ["http://fake1:1", "http://fake2:2", "http://fake3:3"];

    private static EtcdClient NewClient(FakeWatchTransport transport, TimeSpan? probe = null) => new(new EtcdClientOptions
    {
        Endpoints = Endpoints,
        WatchProbeInterval = probe ?? Timeout.InfiniteTimeSpan,
        WatchProbeTimeout = TimeSpan.FromMilliseconds(200),
        WatchMaxBackoff = TimeSpan.FromMilliseconds(50),
    }, transport);

    /// <summary>The model history: revision r changes one key, except revision 10 (a 3-key transaction) and 18 (two keys); nothing in 11..15.</summary>
    private static readonly List<Event> History = BuildHistory();

    private static List<Event> BuildHistory()
    {
        var list = new List<Event>();
        foreach (var r in Enumerable.Range(1, 20).Where(r => r is < 11 or > 15))
        {
            var keys = r switch { 10 => new[] { "a", "b", "c" }, 18 => new[] { "x", "y" }, _ => new[] { "k" + r % 3 } };
            foreach (var k in keys)
            {
                list.Add(new Event
                {
                    Type = r % 4 == 0 ? Event.Types.EventType.Delete : Event.Types.EventType.Put,
                    Kv = new KeyValue { Key = ByteString.CopyFromUtf8(k), Value = ByteString.CopyFromUtf8("v" + r), ModRevision = r, CreateRevision = r, Version = 1 },
                });
            }
        }
        return list;
    }

    private static IEnumerable<Event> Revs(int from, int to) => History.Where(e => e.Kv.ModRevision >= from && e.Kv.ModRevision <= to);

    private static RpcException Broken() => new(StatusCode.Unavailable, "connection error: reset by peer");

    [Fact]
    public async Task ResumesExactlyOnceAcrossBreaksReplaysAndFragments()
    {
        var transport = new FakeWatchTransport();
        var starts = new List<long>();
        transport.OnOpen = s => s.OnCreate = (create, id) =>
        {
            lock (starts)
            {
                starts.Add(create.StartRevision);
            }
            return s.Number switch
            {
                // Delivers 1..5, then the first fragment of a response carrying 6..7, then dies.
                1 => [Batch(id, Revs(1, 2)), Batch(id, Revs(3, 3)), Batch(id, Revs(4, 5)), Batch(id, Revs(6, 6), fragment: true), Broken()],
                // Replays from 3 (3..5 are duplicates), delivers 6..10, repeats 9..10, bookmarks 15, dies.
                2 => [Batch(id, Revs(3, 7)), Batch(id, Revs(8, 10)), Batch(id, Revs(9, 10)),
                    Batch(id, [], header: 15), Broken()],
                // 16..20 with revision 18's two events split across fragments.
                _ => [Batch(id, Revs(16, 17).Concat(Revs(18, 18).Take(1)), fragment: true), Batch(id, Revs(18, 18).Skip(1).Concat(Revs(19, 20)))],
            };
        };
        await using var client = NewClient(transport);
        var delivered = new List<Event>();
        var endpoints = new List<string>();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await foreach (var batch in client.Watch(KeyRange.Prefix(""), new WatchOptions { StartRevision = 1 }, cts.Token))
        {
            delivered.AddRange(batch.Events);
            endpoints.Add(batch.Endpoint);
            // Whole revisions only: a batch never ends in the middle of revision 10 or 18.
            Assert.Equal(History.Count(e => e.Kv.ModRevision == batch.Events[^1].Kv.ModRevision),
                batch.Events.Count(e => e.Kv.ModRevision == batch.Events[^1].Kv.ModRevision));
            if (delivered[^1].Kv.ModRevision == 20)
            {
                break;
            }
        }

        Assert.Empty(HistoryChecker.Check(History, delivered));
        Assert.Equal(new long[] { 1, 6, 16 }, starts);
        Assert.Equal(new[] { "http://fake1:1/", "http://fake2:2/", "http://fake3:3/" }, endpoints.Distinct());
        Assert.Equal(3, client.WatchStreamsOpened);
        // Leaving the loop cancels the server-side watch on the live stream.
        var last = transport.Streams[^1];
        await WaitUntil(() => { lock (last.Requests) { return last.Requests.Any(r => r.CancelRequest != null); } });
    }

    [Fact]
    public async Task WatchFromNowResumesAfterTheCreatedRevision()
    {
        var transport = new FakeWatchTransport();
        var starts = new List<long>();
        transport.OnOpen = s =>
        {
            s.CreatedHeader = s.Number == 1 ? 40 : 45;
            s.OnCreate = (create, id) =>
            {
                starts.Add(create.StartRevision);
                return s.Number == 1 ? [Broken()] : [Batch(id, [Ev(41, "a")]), Batch(id, [Ev(44, "b")])];
            };
        };
        await using var client = NewClient(transport);
        var revisions = new List<long>();
        await foreach (var batch in client.Watch("a", new WatchOptions { CreatedNotify = true }).WithTimeout(TimeSpan.FromSeconds(10)))
        {
            if (batch.IsCreated)
            {
                Assert.Equal(40, batch.HeaderRevision);
                continue;
            }
            revisions.AddRange(batch.Events.Select(e => e.Kv.ModRevision));
            if (revisions[^1] == 44)
            {
                break;
            }
        }
        Assert.Equal(new long[] { 0, 41 }, starts);
        Assert.Equal(new long[] { 41, 44 }, revisions);
    }

    [Fact]
    public async Task CompactionEndsTheWatchWithTheCompactRevision()
    {
        var transport = new FakeWatchTransport();
        transport.OnOpen = s => s.OnCreate = (create, id) => s.Number == 1
            ? [Batch(id, [Ev(5, "a")]), Broken()]
            : [new WatchResponse { Header = new ResponseHeader { Revision = 90 }, WatchId = id, Canceled = true, CompactRevision = 50 }];
        await using var client = NewClient(transport);
        var seen = new List<long>();
        var error = await Assert.ThrowsAsync<WatchCompactedException>(async () =>
        {
            await foreach (var batch in client.Watch("a", new WatchOptions { StartRevision = 3 }))
            {
                seen.AddRange(batch.Events.Select(e => e.Kv.ModRevision));
            }
        });
        Assert.Equal(new long[] { 5 }, seen);
        Assert.Equal(50, error.CompactRevision);
        Assert.Equal(6, error.RequiredRevision);
        Assert.Equal(EtcdErrors.CompactedMessage, error.Message);
        Assert.Equal(StatusCode.OutOfRange, error.Status);
    }

    [Fact]
    public async Task NoLeaderCancellationMovesEveryWatchToAnotherMember()
    {
        var transport = new FakeWatchTransport();
        var starts = new List<(int, long)>();
        transport.OnOpen = s => s.OnCreate = (create, id) =>
        {
            lock (starts)
            {
                starts.Add((s.Number, create.StartRevision));
            }
            if (s.Number == 1)
            {
                return create.Key.ToStringUtf8() == "a"
                    ? [Batch(id, [Ev(7, "a")]), new WatchResponse { WatchId = id, Canceled = true, CancelReason = EtcdErrors.NoLeaderMessage }]
                    : [];
            }
            return [Batch(id, [Ev(create.Key.ToStringUtf8() == "a" ? 9 : 10, create.Key.ToStringUtf8())])];
        };
        await using var client = NewClient(transport);
        var a = First(client, "a", new WatchOptions { StartRevision = 2, RequireLeader = true }, 9);
        var b = First(client, "b", new WatchOptions { StartRevision = 3, RequireLeader = true }, 10);
        Assert.Equal("http://fake2:2/", (await a).Endpoint);
        Assert.Equal("http://fake2:2/", (await b).Endpoint);
        Assert.True(transport.Streams.All(s => s.RequireLeader));
        // "a" resumes after its last event; "b" keeps its own start. Which later stream carries "b"
        // depends on timing: if "a" is done and removed before "b" is added, the idle stream 2 is
        // closed and "b" opens stream 3 (on the same healthy member).
        Assert.Contains((2, 8L), starts);
        Assert.Contains(starts, s => s.Item1 >= 2 && s.Item2 == 3);
        Assert.DoesNotContain(starts, s => s.Item1 >= 2 && s.Item2 != 8 && s.Item2 != 3);
        Assert.True(transport.Streams[0].Disposed);
    }

    [Fact]
    public async Task SilentMemberIsAbandonedButAQuietLiveOneIsNot()
    {
        var transport = new FakeWatchTransport { Ping = endpoint => endpoint != "http://fake1:1/" };
        transport.OnOpen = s => s.OnCreate = (create, id) => s.Number == 1 ? [] : [Batch(id, [Ev(3, "a")])];
        await using (var client = NewClient(transport, probe: TimeSpan.FromMilliseconds(100)))
        {
            var batch = await First(client, "a", new WatchOptions { StartRevision = 2 }, 3);
            Assert.Equal("http://fake2:2/", batch.Endpoint);
            Assert.Contains(transport.Streams[0].Requests, r => r.ProgressRequest != null);
        }

        // Alive (pings answer) but quiet: the stream stays, however long the probe goes unanswered.
        var quiet = new FakeWatchTransport();
        quiet.OnOpen = s => s.OnCreate = (_, _) => [];
        await using var client2 = NewClient(quiet, probe: TimeSpan.FromMilliseconds(100));
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(1200));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var _ in client2.Watch("a", new WatchOptions { StartRevision = 2 }, cts.Token))
            {
            }
        });
        Assert.Single(quiet.Streams);
        Assert.True(quiet.Streams[0].Requests.Count(r => r.ProgressRequest != null) >= 3);
    }

    [Fact]
    public async Task ProgressNotificationsAreDeliveredAndMoveTheResumePoint()
    {
        var transport = new FakeWatchTransport();
        var starts = new List<long>();
        transport.OnOpen = s => s.OnCreate = (create, id) =>
        {
            starts.Add(create.StartRevision);
            return s.Number == 1
                ? [Batch(id, [], header: 30), Batch(id, [Ev(4, "late")]), Broken()] // 4 ≤ 30: a bogus late event is dropped
                : [Batch(id, [Ev(31, "a")])];
        };
        await using var client = NewClient(transport);
        var batches = new List<WatchBatch>();
        await foreach (var batch in client.Watch("a", new WatchOptions { StartRevision = 2, ProgressNotify = true }).WithTimeout(TimeSpan.FromSeconds(10)))
        {
            batches.Add(batch);
            if (batch.Events.Count > 0)
            {
                break;
            }
        }
        Assert.True(batches[0].IsProgressNotify);
        Assert.Equal(30, batches[0].HeaderRevision);
        Assert.Equal(31, Assert.Single(batches[1].Events).Kv.ModRevision);
        Assert.Equal(2, batches.Count);
        Assert.Equal(new long[] { 2, 31 }, starts);
    }

    [Fact]
    public async Task ProgressNotifyWatchLeavesAStreamSilentBeyondTheBound()
    {
        var transport = new FakeWatchTransport();
        transport.OnOpen = s => s.OnCreate = (create, id) => s.Number == 1 ? [] : [Batch(id, [Ev(7, "a")])];
        await using var client = new EtcdClient(new EtcdClientOptions
        {
            Endpoints = Endpoints,
            WatchProbeInterval = Timeout.InfiniteTimeSpan,
            ProgressNotifyInterval = TimeSpan.FromMilliseconds(100),
            ProgressNotifySilenceFactor = 3,
        }, transport);
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var batch = await First(client, "a", new WatchOptions { StartRevision = 5, ProgressNotify = true }, 7);
        Assert.Equal("http://fake2:2/", batch.Endpoint);
        Assert.True(sw.Elapsed >= TimeSpan.FromMilliseconds(250), $"left after {sw.Elapsed}");
        Assert.Equal(5, transport.Streams[1].Requests[0].CreateRequest.StartRevision);
    }

    [Fact]
    public async Task RefusedCreateEndsOnlyThatWatch()
    {
        var transport = new FakeWatchTransport { };
        transport.OnOpen = s =>
        {
            s.AutoCreated = false;
            s.OnCreate = (create, id) => create.Key.ToStringUtf8() == "bad"
                ? [new WatchResponse { WatchId = -1, Created = true, Canceled = true, CancelReason = "etcdserver: bad watch" }]
                : [new WatchResponse { WatchId = id, Created = true }, Batch(id, [Ev(5, "good")])];
        };
        await using var client = NewClient(transport);
        var bad = await Assert.ThrowsAsync<EtcdException>(async () =>
        {
            await foreach (var _ in client.Watch("bad", new WatchOptions { StartRevision = 1 }))
            {
            }
        });
        Assert.Equal("etcdserver: bad watch", bad.Message);
        var good = await First(client, "good", new WatchOptions { StartRevision = 1 }, 5);
        Assert.Single(transport.Streams);
        Assert.Equal("good", good.Events[0].Kv.Key.ToStringUtf8());
    }

    [Fact]
    public void CheckerRejectsDuplicatesGapsReordersAndPhantoms()
    {
        Assert.Empty(HistoryChecker.Check(History, History));
        var duplicate = History.Take(5).Concat(History.Skip(4)).ToList();
        Assert.Contains(HistoryChecker.Check(History, duplicate), p => p.StartsWith("duplicate", StringComparison.Ordinal));
        var gap = History.Where(e => e.Kv.ModRevision != 7).ToList();
        Assert.Contains(HistoryChecker.Check(History, gap), p => p.StartsWith("gap", StringComparison.Ordinal) && p.Contains("revision 7", StringComparison.Ordinal));
        var reordered = History.ToList();
        (reordered[2], reordered[3]) = (reordered[3], reordered[2]);
        Assert.Contains(HistoryChecker.Check(History, reordered), p => p.StartsWith("order", StringComparison.Ordinal));
        var phantom = History.Append(Ev(99, "z")).ToList();
        Assert.Contains(HistoryChecker.Check(History, phantom), p => p.StartsWith("phantom", StringComparison.Ordinal));
        var altered = History.Select(e => e.Clone()).ToList();
        altered[1].Kv.Value = ByteString.CopyFromUtf8("different");
        Assert.Contains(HistoryChecker.Check(History, altered), p => p.StartsWith("content", StringComparison.Ordinal));
    }

    [Fact]
    public void CursorDropsEverythingAlreadyDelivered()
    {
        var cursor = new WatchCursor(5);
        Assert.Equal(5, cursor.NextRevision);
        Assert.Equal(2, cursor.Accept([Ev(5, "a"), Ev(6, "b")]).Count);
        Assert.Empty(cursor.Accept([Ev(5, "a"), Ev(6, "b")]));
        Assert.Equal(7, cursor.NextRevision);
        Assert.True(cursor.OnProgress(9));
        Assert.Empty(cursor.Accept([Ev(8, "late")]));
        Assert.False(cursor.OnProgress(3));
        Assert.Equal(10, cursor.NextRevision);
        Assert.Equal(3, cursor.Duplicates);

        var fromNow = new WatchCursor(0);
        fromNow.OnCreated(40);
        Assert.Equal(41, fromNow.NextRevision);
        fromNow.OnCreated(60); // a later re-creation does not move it
        Assert.Equal(41, fromNow.NextRevision);
    }

    private static async Task<WatchBatch> First(EtcdClient client, KeyRange range, WatchOptions options, long revision)
    {
        await foreach (var batch in client.Watch(range, options).WithTimeout(TimeSpan.FromSeconds(10)))
        {
            if (batch.Events.Any(e => e.Kv.ModRevision == revision))
            {
                return batch;
            }
        }
        throw new InvalidOperationException("watch ended");
    }

}

internal static class AsyncEnumerableTimeout
{
    /// <summary>Cancels the enumeration after <paramref name="timeout"/> so a broken test fails instead of hanging.</summary>
    public static async IAsyncEnumerable<T> WithTimeout<T>(this IAsyncEnumerable<T> source, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await foreach (var item in source.WithCancellation(cts.Token))
        {
            yield return item;
        }
    }
}
