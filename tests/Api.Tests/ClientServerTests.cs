using System.Diagnostics;
using Cairn.Grpc;
using Cairn.Grpc.Client;
using Cairn.Protocol;
using Etcdserverpb;
using Google.Protobuf;
using Mvccpb;

namespace Cairn.Api.Tests;

/// <summary>Round trips and protocol details through our own client and server.</summary>
public class ClientServerTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private async Task Within(Task task, string what, GrpcTestServer server, double seconds = 5)
    {
        try
        {
            await task.WaitAsync(TimeSpan.FromSeconds(seconds));
        }
        catch (TimeoutException)
        {
            foreach (var e in server.Logs.Entries)
            {
                output.WriteLine($"{e.Level} {e.Category}: {e.Message} {e.Exception}");
            }
            throw new TimeoutException("timed out waiting for " + what);
        }
    }

    private static ByteString Bytes(string s) => ByteString.CopyFromUtf8(s);

    private static GrpcServiceRegistry KvRegistry() => new GrpcServiceRegistry()
        .AddUnary("/etcdserverpb.KV/Range", RangeRequest.Parser, (req, ctx) => ValueTask.FromResult(new RangeResponse
        {
            Header = new ResponseHeader { ClusterId = 1, MemberId = 2, Revision = 3, RaftTerm = 4 },
            Kvs = { new KeyValue { Key = req.Key, Value = Bytes("v:" + req.Key.ToStringUtf8()), ModRevision = 3 } },
            Count = 1,
        }));

    /// <summary>A fake Watch: answers each create with "created" and a PUT event for the key.</summary>
    private static GrpcServiceRegistry WatchRegistry() => new GrpcServiceRegistry()
        .AddDuplexStreaming<WatchRequest, WatchResponse>("/etcdserverpb.Watch/Watch", WatchRequest.Parser, async (requests, writer, ctx) =>
        {
            long nextId = 0;
            await foreach (var request in requests.WithCancellation(ctx.CancellationToken))
            {
                if (request.CreateRequest is { } create)
                {
                    var id = nextId++;
                    await writer.WriteAsync(new WatchResponse { WatchId = id, Created = true, Header = new ResponseHeader { Revision = 10 } });
                    await writer.WriteAsync(new WatchResponse
                    {
                        WatchId = id,
                        Events = { new Event { Type = Event.Types.EventType.Put, Kv = new KeyValue { Key = create.Key, ModRevision = 11 } } },
                    });
                }
            }
        });

    [Fact]
    public async Task UnaryRoundTrip()
    {
        await using var server = await GrpcTestServer.StartAsync(KvRegistry());
        using var channel = new GrpcChannel(server.Address);
        for (var i = 0; i < 3; i++)
        {
            var response = await channel.UnaryAsync("/etcdserverpb.KV/Range", new RangeRequest { Key = Bytes("k" + i) }, RangeResponse.Parser);
            Assert.Equal(3, response.Header.Revision);
            Assert.Equal("v:k" + i, response.Kvs[0].Value.ToStringUtf8());
        }
    }

    [Fact]
    public async Task ConcurrentUnaryCallsShareTheConnection()
    {
        await using var server = await GrpcTestServer.StartAsync(KvRegistry());
        using var channel = GrpcChannel.ForAddress(server.Address.Authority);
        var tasks = Enumerable.Range(0, 200).Select(i =>
            channel.UnaryAsync("/etcdserverpb.KV/Range", new RangeRequest { Key = Bytes("k" + i) }, RangeResponse.Parser));
        var responses = await Task.WhenAll(tasks);
        Assert.Equal(Enumerable.Range(0, 200).Select(i => "v:k" + i), responses.Select(r => r.Kvs[0].Value.ToStringUtf8()));
    }

    [Fact]
    public async Task ServerStreamingRoundTrip()
    {
        var registry = new GrpcServiceRegistry().AddServerStreaming<SnapshotRequest, SnapshotResponse>(
            "/etcdserverpb.Maintenance/Snapshot", SnapshotRequest.Parser, async (req, writer, ctx) =>
            {
                for (var i = 0; i < 5; i++)
                {
                    await writer.WriteAsync(new SnapshotResponse { RemainingBytes = (ulong)(4 - i), Blob = ByteString.CopyFrom(new byte[1000 * i]) });
                }
            });
        await using var server = await GrpcTestServer.StartAsync(registry);
        using var channel = new GrpcChannel(server.Address);
        using var call = channel.ServerStreaming("/etcdserverpb.Maintenance/Snapshot", new SnapshotRequest(), SnapshotResponse.Parser);
        var received = new List<SnapshotResponse>();
        await foreach (var r in call)
        {
            received.Add(r);
        }
        Assert.Equal(new ulong[] { 4, 3, 2, 1, 0 }, received.Select(r => r.RemainingBytes));
        Assert.Equal(4000, received[4].Blob.Length);
        Assert.Equal(StatusCode.OK, call.Status);
    }

    [Fact]
    public async Task ServerStreamingWithNoMessagesIsTrailersOnlyOk()
    {
        var registry = new GrpcServiceRegistry().AddServerStreaming<SnapshotRequest, SnapshotResponse>(
            "/etcdserverpb.Maintenance/Snapshot", SnapshotRequest.Parser, (req, writer, ctx) => Task.CompletedTask);
        await using var server = await GrpcTestServer.StartAsync(registry);
        using var channel = new GrpcChannel(server.Address);
        using var call = channel.ServerStreaming("/etcdserverpb.Maintenance/Snapshot", new SnapshotRequest(), SnapshotResponse.Parser);
        Assert.False(await call.MoveNextAsync());
        Assert.Equal(StatusCode.OK, call.Status);
    }

    [Fact]
    public async Task DuplexWatchEcho()
    {
        await using var server = await GrpcTestServer.StartAsync(WatchRegistry());
        using var channel = new GrpcChannel(server.Address);
        using var call = channel.DuplexStreaming<WatchRequest, WatchResponse>("/etcdserverpb.Watch/Watch", WatchResponse.Parser,
            [new("hasleader", "true")]);
        // Interleave: each response must arrive before the next request is written (no buffering).
        for (var i = 0; i < 3; i++)
        {
            await call.WriteAsync(new WatchRequest { CreateRequest = new WatchCreateRequest { Key = Bytes("key" + i) } });
            Assert.True(await call.MoveNextAsync());
            Assert.True(call.Current.Created);
            Assert.Equal(i, call.Current.WatchId);
            Assert.True(await call.MoveNextAsync());
            Assert.Equal("key" + i, call.Current.Events[0].Kv.Key.ToStringUtf8());
        }
        await call.CompleteRequestAsync();
        Assert.False(await call.MoveNextAsync());
        Assert.Equal(StatusCode.OK, call.Status);
    }

    [Fact]
    public async Task MetadataInAndOut()
    {
        var seen = new TaskCompletionSource<Dictionary<string, string?>>();
        var registry = new GrpcServiceRegistry().AddServerStreaming<SnapshotRequest, SnapshotResponse>(
            "/etcdserverpb.Maintenance/Snapshot", SnapshotRequest.Parser, async (req, writer, ctx) =>
            {
                seen.TrySetResult(new()
                {
                    ["token"] = ctx.GetHeader("token"),
                    ["hasleader"] = ctx.GetHeader("hasleader"),
                    ["te"] = ctx.GetHeader("te"),
                    ["content-type"] = ctx.GetHeader("content-type"),
                    ["missing"] = ctx.GetHeader("missing"),
                    ["peer"] = ctx.Peer,
                    ["method"] = ctx.Method,
                });
                ctx.AddResponseHeader("x-header", "h1");
                ctx.AddResponseTrailer("x-trailer", "t1");
                await writer.WriteAsync(new SnapshotResponse());
                Assert.Throws<InvalidOperationException>(() => ctx.AddResponseHeader("x-late", "no"));
            });
        await using var server = await GrpcTestServer.StartAsync(registry);
        using var channel = new GrpcChannel(server.Address);
        using var call = channel.ServerStreaming("/etcdserverpb.Maintenance/Snapshot", new SnapshotRequest(), SnapshotResponse.Parser,
            [new("token", "secret"), new("hasleader", "true")]);
        Assert.True(await call.MoveNextAsync());
        Assert.False(await call.MoveNextAsync());
        var headers = await call.ResponseHeadersAsync();
        Assert.Equal("h1", headers.GetValues("x-header").Single());
        Assert.Equal("t1", call.Trailers!.GetValues("x-trailer").Single());
        var s = await seen.Task;
        Assert.Equal("secret", s["token"]);
        Assert.Equal("true", s["hasleader"]);
        Assert.Equal("trailers", s["te"]);
        Assert.Equal("application/grpc", s["content-type"]);
        Assert.Null(s["missing"]);
        Assert.StartsWith("127.0.0.1:", s["peer"]);
        Assert.Equal("/etcdserverpb.Maintenance/Snapshot", s["method"]);
    }

    [Fact]
    public async Task DeadlineCancelsHandlerAndEndsWithDeadlineExceeded()
    {
        var handlerCancelled = new TaskCompletionSource<DateTime?>();
        var registry = new GrpcServiceRegistry().AddUnary<RangeRequest, RangeResponse>("/etcdserverpb.KV/Range", RangeRequest.Parser, async (req, ctx) =>
        {
            try
            {
                await Task.Delay(Timeout.Infinite, ctx.CancellationToken);
            }
            finally
            {
                handlerCancelled.TrySetResult(ctx.Deadline);
            }
            return new RangeResponse();
        });
        await using var server = await GrpcTestServer.StartAsync(registry);
        using var channel = new GrpcChannel(server.Address);
        var sw = Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<RpcException>(() =>
            channel.UnaryAsync("/etcdserverpb.KV/Range", new RangeRequest(), RangeResponse.Parser, deadline: DateTime.UtcNow.AddMilliseconds(500)));
        Assert.Equal(StatusCode.DeadlineExceeded, e.Status);
        Assert.InRange(sw.ElapsedMilliseconds, 400, 2500);
        await Within(handlerCancelled.Task, "handler cancellation", server);
        Assert.NotNull(await handlerCancelled.Task);
    }

    [Fact]
    public async Task ClientCancellationReachesHandlerWithoutLogNoise()
    {
        var started = new TaskCompletionSource();
        var cancelled = new TaskCompletionSource();
        var registry = new GrpcServiceRegistry().AddDuplexStreaming<WatchRequest, WatchResponse>("/etcdserverpb.Watch/Watch", WatchRequest.Parser,
            async (requests, writer, ctx) =>
            {
                ctx.CancellationToken.Register(() => cancelled.TrySetResult());
                started.TrySetResult();
                // Blocked in a read, as a real Watch is: the reset must surface as cancellation.
                await foreach (var _ in requests)
                {
                }
            });
        await using var server = await GrpcTestServer.StartAsync(registry);
        using var channel = new GrpcChannel(server.Address);
        var call = channel.DuplexStreaming<WatchRequest, WatchResponse>("/etcdserverpb.Watch/Watch", WatchResponse.Parser);
        await call.WriteAsync(new WatchRequest { CreateRequest = new WatchCreateRequest { Key = Bytes("a") } });
        await Within(started.Task, "start", server);
        call.Dispose();
        await Within(cancelled.Task, "cancel", server);
        var ex = await Assert.ThrowsAsync<RpcException>(() => call.MoveNextAsync().AsTask());
        Assert.Equal(StatusCode.Cancelled, ex.Status);
        await Task.Delay(200);
        Assert.Empty(server.Logs.Errors());

        // A cancellation token works the same way.
        using var cts = new CancellationTokenSource();
        started = new TaskCompletionSource();
        cancelled = new TaskCompletionSource();
        using var call2 = channel.DuplexStreaming<WatchRequest, WatchResponse>("/etcdserverpb.Watch/Watch", WatchResponse.Parser, cancellationToken: cts.Token);
        await call2.WriteAsync(new WatchRequest());
        await Within(started.Task, "start2", server);
        var read = call2.MoveNextAsync().AsTask();
        cts.Cancel();
        Assert.Equal(StatusCode.Cancelled, (await Assert.ThrowsAsync<RpcException>(() => read)).Status);
        await Within(cancelled.Task, "cancel2", server);
        Assert.Empty(server.Logs.Errors());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task RpcExceptionRoundTripsStatusAndMessage(bool afterMessages)
    {
        const string text = "etcdserver: ключ «k» 100% ✓ — line\nbreak %41";
        var registry = new GrpcServiceRegistry().AddServerStreaming<SnapshotRequest, SnapshotResponse>(
            "/etcdserverpb.Maintenance/Snapshot", SnapshotRequest.Parser, async (req, writer, ctx) =>
            {
                if (afterMessages)
                {
                    await writer.WriteAsync(new SnapshotResponse { RemainingBytes = 1 });
                }
                throw new RpcException(StatusCode.OutOfRange, text);
            });
        registry.AddUnary<RangeRequest, RangeResponse>("/etcdserverpb.KV/Range", RangeRequest.Parser,
            (req, ctx) => throw new RpcException(StatusCode.InvalidArgument, text));
        await using var server = await GrpcTestServer.StartAsync(registry);
        using var channel = new GrpcChannel(server.Address);

        var unary = await Assert.ThrowsAsync<RpcException>(() => channel.UnaryAsync("/etcdserverpb.KV/Range", new RangeRequest(), RangeResponse.Parser));
        Assert.Equal(StatusCode.InvalidArgument, unary.Status);
        Assert.Equal(text, unary.Message);

        using var call = channel.ServerStreaming("/etcdserverpb.Maintenance/Snapshot", new SnapshotRequest(), SnapshotResponse.Parser);
        if (afterMessages)
        {
            Assert.True(await call.MoveNextAsync());
        }
        var e = await Assert.ThrowsAsync<RpcException>(() => call.MoveNextAsync().AsTask());
        Assert.Equal(StatusCode.OutOfRange, e.Status);
        Assert.Equal(text, e.Message);
        Assert.Empty(server.Logs.Errors());
    }

    [Fact]
    public async Task UnexpectedExceptionBecomesGenericInternalAndIsLogged()
    {
        var registry = new GrpcServiceRegistry().AddUnary<RangeRequest, RangeResponse>("/etcdserverpb.KV/Range", RangeRequest.Parser,
            (req, ctx) => throw new InvalidOperationException("secret detail"));
        await using var server = await GrpcTestServer.StartAsync(registry);
        using var channel = new GrpcChannel(server.Address);
        var e = await Assert.ThrowsAsync<RpcException>(() => channel.UnaryAsync("/etcdserverpb.KV/Range", new RangeRequest(), RangeResponse.Parser));
        Assert.Equal(StatusCode.Internal, e.Status);
        Assert.DoesNotContain("secret", e.Message);
        Assert.Contains(server.Logs.Errors(), l => l.Contains("secret detail"));
        // Still serving.
        await Assert.ThrowsAsync<RpcException>(() => channel.UnaryAsync("/etcdserverpb.KV/Range", new RangeRequest(), RangeResponse.Parser));
    }

    [Theory]
    [InlineData("/etcdserverpb.KV/Foo", "unknown method Foo for service etcdserverpb.KV")]
    [InlineData("/etcdserverpb.Foo/Range", "unknown service etcdserverpb.Foo")]
    [InlineData("/v3lock.Lock/Lock", "unknown service v3lock.Lock")]
    public async Task UnknownMethodOrServiceIsUnimplementedAtOnce(string path, string message)
    {
        await using var server = await GrpcTestServer.StartAsync(KvRegistry());
        using var channel = new GrpcChannel(server.Address);
        var sw = Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<RpcException>(() => channel.UnaryAsync(path, new RangeRequest(), RangeResponse.Parser));
        Assert.Equal(StatusCode.Unimplemented, e.Status);
        Assert.Equal(message, e.Message);
        Assert.True(sw.ElapsedMilliseconds < 2000, $"took {sw.ElapsedMilliseconds} ms");

        // A stream to an unknown method fails the same way, on its first read.
        using var call = channel.DuplexStreaming<WatchRequest, WatchResponse>(path, WatchResponse.Parser);
        var e2 = await Assert.ThrowsAsync<RpcException>(() => call.MoveNextAsync().AsTask());
        Assert.Equal(StatusCode.Unimplemented, e2.Status);
    }

    [Fact]
    public async Task OversizedRequestIsResourceExhausted()
    {
        var registry = new GrpcServiceRegistry().AddUnary("/etcdserverpb.KV/Put", PutRequest.Parser,
            (req, ctx) => ValueTask.FromResult(new PutResponse()));
        await using var server = await GrpcTestServer.StartAsync(registry);
        using var channel = new GrpcChannel(server.Address);
        // Just under the limit works (the etcd layer, not this one, enforces 1.5 MiB).
        var ok = new PutRequest { Key = Bytes("k"), Value = ByteString.CopyFrom(new byte[2 * 1024 * 1024 - 100]) };
        await channel.UnaryAsync("/etcdserverpb.KV/Put", ok, PutResponse.Parser);

        var big = new PutRequest { Key = Bytes("k"), Value = ByteString.CopyFrom(new byte[3 * 1024 * 1024]) };
        var e = await Assert.ThrowsAsync<RpcException>(() => channel.UnaryAsync("/etcdserverpb.KV/Put", big, PutResponse.Parser));
        Assert.Equal(StatusCode.ResourceExhausted, e.Status);
        Assert.Equal($"grpc: received message larger than max ({big.CalculateSize()} vs. 2097152)", e.Message);
        await channel.UnaryAsync("/etcdserverpb.KV/Put", new PutRequest(), PutResponse.Parser);
    }

    [Fact]
    public async Task ReceiveLimitIsConfigurableOnBothSides()
    {
        var registry = new GrpcServiceRegistry().AddUnary("/etcdserverpb.KV/Put", PutRequest.Parser,
            (req, ctx) => ValueTask.FromResult(new PutResponse { PrevKv = new KeyValue { Value = req.Value } }));
        await using var server = await GrpcTestServer.StartAsync(registry, new GrpcServerOptions { MaxReceiveMessageSize = 1000 });
        using var channel = new GrpcChannel(server.Address);
        var e = await Assert.ThrowsAsync<RpcException>(() =>
            channel.UnaryAsync("/etcdserverpb.KV/Put", new PutRequest { Value = ByteString.CopyFrom(new byte[2000]) }, PutResponse.Parser));
        Assert.Equal(StatusCode.ResourceExhausted, e.Status);
        Assert.Contains("vs. 1000)", e.Message);

        using var small = new GrpcChannel(server.Address, new GrpcChannelOptions { MaxReceiveMessageSize = 100 });
        var e2 = await Assert.ThrowsAsync<RpcException>(() =>
            small.UnaryAsync("/etcdserverpb.KV/Put", new PutRequest { Value = ByteString.CopyFrom(new byte[500]) }, PutResponse.Parser));
        Assert.Equal(StatusCode.ResourceExhausted, e2.Status);
    }

    /// <summary>Kestrel's MinRequestBodyDataRate would reset an idle stream about 6 s in.</summary>
    [Fact]
    [Trait("Category", "Slow")]
    public async Task IdleDuplexStreamSurvivesEightSeconds()
    {
        await using var server = await GrpcTestServer.StartAsync(WatchRegistry());
        using var channel = new GrpcChannel(server.Address);
        using var call = channel.DuplexStreaming<WatchRequest, WatchResponse>("/etcdserverpb.Watch/Watch", WatchResponse.Parser);
        await call.WriteAsync(new WatchRequest { CreateRequest = new WatchCreateRequest { Key = Bytes("a") } });
        Assert.True(await call.MoveNextAsync());
        Assert.True(await call.MoveNextAsync());
        await Task.Delay(TimeSpan.FromSeconds(8));
        await call.WriteAsync(new WatchRequest { CreateRequest = new WatchCreateRequest { Key = Bytes("b") } });
        Assert.True(await call.MoveNextAsync());
        Assert.Equal(1, call.Current.WatchId);
        Assert.True(call.Current.Created);
        Assert.Empty(server.Logs.Errors());
    }

    [Fact]
    public async Task ShutdownEndsOpenStreamsQuicklyWithUnavailable()
    {
        var server = await GrpcTestServer.StartAsync(WatchRegistry());
        await using (server)
        {
            using var channel = new GrpcChannel(server.Address);
            var calls = new List<DuplexStreamingCall<WatchRequest, WatchResponse>>();
            for (var i = 0; i < 3; i++)
            {
                var call = channel.DuplexStreaming<WatchRequest, WatchResponse>("/etcdserverpb.Watch/Watch", WatchResponse.Parser);
                await call.WriteAsync(new WatchRequest { CreateRequest = new WatchCreateRequest { Key = Bytes("a") } });
                Assert.True(await call.MoveNextAsync());
                Assert.True(await call.MoveNextAsync());
                calls.Add(call);
            }
            var sw = Stopwatch.StartNew();
            await server.StopAsync();
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(2), $"shutdown took {sw.Elapsed}");
            foreach (var call in calls)
            {
                var e = await Assert.ThrowsAsync<RpcException>(() => call.MoveNextAsync().AsTask());
                Assert.True(e.Status == StatusCode.Unavailable, e.ToString() + " " + e.InnerException);
                call.Dispose();
            }
        }
    }

    [Fact]
    public async Task WritingToADuplexCallTheServerEndedFailsWithItsStatusNotAsMisuse()
    {
        // The handler ends the call without reading: HttpClient then cancels the request body, and a write after that
        // must report the call's failure (an RpcException a caller's retry logic handles), never InvalidOperationException
        // ("request stream is complete"), which only a caller that half-closed the stream itself may see.
        var registry = new GrpcServiceRegistry().AddDuplexStreaming<WatchRequest, WatchResponse>("/etcdserverpb.Watch/Watch", WatchRequest.Parser,
            (requests, writer, ctx) => throw new RpcException(StatusCode.Unavailable, "etcdserver: no leader"));
        await using var server = await GrpcTestServer.StartAsync(registry);
        using var channel = new GrpcChannel(server.Address);
        using var call = channel.DuplexStreaming<WatchRequest, WatchResponse>("/etcdserverpb.Watch/Watch", WatchResponse.Parser);
        Exception? failure = null;
        for (var i = 0; i < 200 && failure is null; i++)
        {
            try
            {
                await call.WriteAsync(new WatchRequest { ProgressRequest = new WatchProgressRequest() });
                await Task.Delay(10);
            }
            catch (Exception e)
            {
                failure = e;
            }
        }
        Assert.IsType<RpcException>(failure);
        var read = await Assert.ThrowsAsync<RpcException>(() => call.MoveNextAsync().AsTask());
        Assert.Equal(StatusCode.Unavailable, read.Status);
    }

    [Fact]
    public async Task ConnectionRefusedIsUnavailable()
    {
        // Bind and release a port so nothing listens there.
        var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        using var channel = new GrpcChannel(new Uri($"http://127.0.0.1:{port}"));
        var e = await Assert.ThrowsAsync<RpcException>(() => channel.UnaryAsync("/etcdserverpb.KV/Range", new RangeRequest(), RangeResponse.Parser));
        Assert.Equal(StatusCode.Unavailable, e.Status);
        using var call = channel.DuplexStreaming<WatchRequest, WatchResponse>("/etcdserverpb.Watch/Watch", WatchResponse.Parser);
        var e2 = await Assert.ThrowsAsync<RpcException>(() => call.WriteAsync(new WatchRequest()));
        Assert.Equal(StatusCode.Unavailable, e2.Status);
    }

    [Fact]
    public async Task DisposingTheCallOrChannelFailsPendingReadsQuickly()
    {
        await using var server = await GrpcTestServer.StartAsync(WatchRegistry());
        var channel = new GrpcChannel(server.Address);
        var call = channel.DuplexStreaming<WatchRequest, WatchResponse>("/etcdserverpb.Watch/Watch", WatchResponse.Parser);
        await call.WriteAsync(new WatchRequest { CreateRequest = new WatchCreateRequest { Key = Bytes("a") } });
        Assert.True(await call.MoveNextAsync());
        Assert.True(await call.MoveNextAsync());
        var pending = call.MoveNextAsync().AsTask();
        call.Dispose();
        var e = await Assert.ThrowsAsync<RpcException>(() => pending.WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.Equal(StatusCode.Cancelled, e.Status);

        var call2 = channel.DuplexStreaming<WatchRequest, WatchResponse>("/etcdserverpb.Watch/Watch", WatchResponse.Parser);
        await call2.WriteAsync(new WatchRequest { CreateRequest = new WatchCreateRequest { Key = Bytes("b") } });
        Assert.True(await call2.MoveNextAsync());
        var pending2 = call2.MoveNextAsync().AsTask();
        await Task.Delay(50);
        Assert.True(pending2.IsCompleted); // the event was already on its way
        var pending3 = call2.MoveNextAsync().AsTask();
        channel.Dispose();
        var e2 = await Assert.ThrowsAsync<RpcException>(() => pending3.WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.True(e2.Status is StatusCode.Cancelled or StatusCode.Unavailable, e2.ToString());
        call2.Dispose();
    }
}
