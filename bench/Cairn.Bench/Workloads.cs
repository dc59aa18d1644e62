using System.Buffers.Binary;
using System.Diagnostics;
using Etcdserverpb;
using Google.Protobuf;
using Mvccpb;

namespace Cairn.Bench;

/// <summary>
/// The workloads of etcd's tools/benchmark, over the v3 API only, so the same code drives etcd and
/// Cairn. Keys are 8 bytes, values 256 bytes by default; every workload is bounded in operations.
/// </summary>
internal static class Workloads
{
    private const int KeySpace = 10_000;
    private static readonly DateTime NoDeadline = DateTime.MaxValue;

    public static ByteString Key(int i) => ByteString.CopyFromUtf8($"k{i % KeySpace:D7}");

    public static ByteString Value(int size, long stamp = 0)
    {
        var bytes = new byte[size];
        Random.Shared.NextBytes(bytes);
        if (size >= 8)
            BinaryPrimitives.WriteInt64LittleEndian(bytes, stamp);
        return UnsafeByteOperations.UnsafeWrap(bytes);
    }

    /// <summary>Runs <paramref name="total"/> operations over <paramref name="inflight"/> concurrent workers.</summary>
    private static async Task<Summary> Run(int total, int inflight, Func<int, int, Task> op, string? spanFile = null)
    {
        var latencies = new Latencies(inflight, keepSpans: spanFile is not null);
        var next = -1;
        var clock = Stopwatch.StartNew();
        var workers = Enumerable.Range(0, inflight).Select(w => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < total)
            {
                var start = Stopwatch.GetTimestamp();
                try
                {
                    await op(w, i).ConfigureAwait(false);
                }
                catch (Cairn.Protocol.RpcException e) when (e.Status is Cairn.Protocol.StatusCode.Unavailable or Cairn.Protocol.StatusCode.DeadlineExceeded)
                {
                    // A request timed out (etcd's and Cairn's "request timed out"): on a machine
                    // overloaded by other work this happens now and then; count it, do not abort the run.
                    latencies.AddError();
                    continue;
                }

                latencies.Add(w, start, Stopwatch.GetTimestamp());
            }
        }));
        await Task.WhenAll(workers).ConfigureAwait(false);
        if (spanFile is not null)
            latencies.WriteSpans(spanFile);
        return latencies.Summarise(clock.Elapsed);
    }

    /// <summary>Puts; with <paramref name="spanFile"/>, each operation's start and end timestamps are written there (see <see cref="TraceReport"/>).</summary>
    public static Task<Summary> Put(Target t, int total, int inflight, int valueSize, int leaderChannel, string? spanFile = null) =>
        Run(total, inflight, (w, i) =>
        {
            var channel = inflight == 1 ? t.Channels[leaderChannel] : t.Channels[w % t.Channels.Length];
            return channel.UnaryAsync("/etcdserverpb.KV/Put", new PutRequest { Key = Key(i), Value = Value(valueSize) }, PutResponse.Parser);
        }, spanFile);

    public static Task<Summary> Range(Target t, int total, int inflight, bool serializable) =>
        Run(total, inflight, (w, i) => t.Channels[w % t.Channels.Length].UnaryAsync("/etcdserverpb.KV/Range",
            new RangeRequest { Key = Key(i * 7919), Serializable = serializable }, RangeResponse.Parser));

    /// <summary>Compare-and-set: read a key's mod revision, then a txn that writes only if it is unchanged.</summary>
    public static Task<Summary> CompareAndSet(Target t, int total, int inflight, int valueSize) =>
        Run(total, inflight, async (w, i) =>
        {
            var channel = t.Channels[w % t.Channels.Length];
            var key = ByteString.CopyFromUtf8($"cas{w:D5}");
            var current = await channel.UnaryAsync("/etcdserverpb.KV/Range", new RangeRequest { Key = key }, RangeResponse.Parser).ConfigureAwait(false);
            var mod = current.Kvs.Count > 0 ? current.Kvs[0].ModRevision : 0;
            var txn = new TxnRequest
            {
                Compare = { new Compare { Key = key, Target = Compare.Types.CompareTarget.Mod, Result = Compare.Types.CompareResult.Equal, ModRevision = mod } },
                Success = { new RequestOp { RequestPut = new PutRequest { Key = key, Value = Value(valueSize) } } },
            };
            await channel.UnaryAsync("/etcdserverpb.KV/Txn", txn, TxnResponse.Parser).ConfigureAwait(false);
        });

    /// <summary>
    /// Watch fan-out: <paramref name="watchers"/> watch streams spread over the members watch one
    /// prefix while a writer puts <paramref name="puts"/> keys with <paramref name="inflight"/> in
    /// flight. Each value carries the put's send time, so each delivered event gives a put→event latency.
    /// </summary>
    public static async Task<(Summary Events, double EventsPerSecond)> WatchFanOut(Target t, int watchers, int puts, int inflight, int valueSize)
    {
        var prefix = ByteString.CopyFromUtf8($"w{Environment.TickCount64}/");
        var end = PrefixEnd(prefix);
        var latencies = new Latencies(watchers);
        var expected = (long)watchers * puts;
        long received = 0;
        var allIn = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var lastEvent = 0L;
        using var stop = new CancellationTokenSource();
        var streams = new List<IDisposable>();
        var readers = new List<Task>();
        for (var w = 0; w < watchers; w++)
        {
            var call = t.Channels[w % t.Channels.Length].DuplexStreaming<WatchRequest, WatchResponse>("/etcdserverpb.Watch/Watch", WatchResponse.Parser,
                cancellationToken: stop.Token);
            streams.Add(call);
            await call.WriteAsync(new WatchRequest { CreateRequest = new WatchCreateRequest { Key = prefix, RangeEnd = end } }).ConfigureAwait(false);
            var shard = w;
            var created = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            readers.Add(Task.Run(async () =>
            {
                try
                {
                    await foreach (var response in call.WithCancellation(stop.Token).ConfigureAwait(false))
                    {
                        if (response.Created)
                            created.TrySetResult();
                        var now = Stopwatch.GetTimestamp();
                        foreach (var ev in response.Events)
                        {
                            if (ev.Type != Event.Types.EventType.Put || ev.Kv.Value.Length < 8)
                                continue;
                            latencies.Add(shard, BinaryPrimitives.ReadInt64LittleEndian(ev.Kv.Value.Span), now);
                            Volatile.Write(ref lastEvent, now);
                            if (Interlocked.Increment(ref received) == expected)
                                allIn.TrySetResult();
                        }
                    }
                }
                catch (Exception) when (stop.IsCancellationRequested)
                {
                }
            }));
            await created.Task.WaitAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false);
        }

        var first = Stopwatch.GetTimestamp();
        await Run(puts, inflight, (w, i) => t.Channels[w % t.Channels.Length].UnaryAsync("/etcdserverpb.KV/Put",
            new PutRequest { Key = ByteString.CopyFromUtf8(prefix.ToStringUtf8() + $"{i:D7}"), Value = Value(valueSize, Stopwatch.GetTimestamp()) },
            PutResponse.Parser)).ConfigureAwait(false);
        await Task.WhenAny(allIn.Task, Task.Delay(TimeSpan.FromSeconds(60))).ConfigureAwait(false);
        var seconds = (Volatile.Read(ref lastEvent) - first) / (double)Stopwatch.Frequency;
        await stop.CancelAsync().ConfigureAwait(false);
        foreach (var s in streams)
            s.Dispose();
        await Task.WhenAll(readers).ConfigureAwait(false);
        var summary = latencies.Summarise(TimeSpan.FromSeconds(Math.Max(seconds, 1e-6)));
        return (summary, Interlocked.Read(ref received) / Math.Max(seconds, 1e-6));
    }

    /// <summary>Bytes of member RSS per idle watcher: open many watchers on one member, compare RSS.</summary>
    public static async Task<double> IdleWatcherBytes(Target t, int watchers, int streamsCount)
    {
        var before = t.Rss()[0];
        var calls = new List<IDisposable>();
        var channel = t.Channels[0];
        var perStream = watchers / streamsCount;
        for (var s = 0; s < streamsCount; s++)
        {
            var call = channel.DuplexStreaming<WatchRequest, WatchResponse>("/etcdserverpb.Watch/Watch", WatchResponse.Parser);
            calls.Add(call);
            for (var w = 0; w < perStream; w++)
                await call.WriteAsync(new WatchRequest { CreateRequest = new WatchCreateRequest { Key = ByteString.CopyFromUtf8($"idle/{s}/{w}") } }).ConfigureAwait(false);
            // MoveNextAsync, not await foreach: leaving a foreach would dispose (cancel) the call.
            var createdCount = 0;
            while (createdCount < perStream && await call.MoveNextAsync().ConfigureAwait(false))
            {
                if (call.Current.Created)
                    createdCount++;
            }
        }

        await Task.Delay(2000).ConfigureAwait(false);
        var after = t.Rss()[0];
        foreach (var c in calls)
            c.Dispose();
        return (after - before) / (double)(perStream * streamsCount);
    }

    /// <summary>The range end that makes <paramref name="prefix"/> a prefix watch or range.</summary>
    public static ByteString PrefixEnd(ByteString prefix)
    {
        var bytes = prefix.ToByteArray();
        bytes[^1]++;
        return ByteString.CopyFrom(bytes);
    }
}
