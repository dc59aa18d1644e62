using System.Diagnostics;
using Cairn.Grpc;
using Cairn.Grpc.Client;
using Cairn.Protocol;
using Etcdserverpb;
using Google.Protobuf;
using Mvccpb;

namespace Cairn.Api.Tests;

/// <summary>Streaming writer behaviour: back-pressure, client going away mid-stream, overlapping writers.</summary>
public class StreamWriterTests
{
    [Fact]
    public async Task ClientLeavingMidStreamStopsABlockedWriter()
    {
        var ended = new TaskCompletionSource<Exception?>();
        var registry = new GrpcServiceRegistry().AddServerStreaming<SnapshotRequest, SnapshotResponse>(
            "/etcdserverpb.Maintenance/Snapshot", SnapshotRequest.Parser, async (req, writer, ctx) =>
            {
                try
                {
                    // Far more than the HTTP/2 windows hold: the writer blocks on flow control.
                    while (true)
                    {
                        await writer.WriteAsync(new SnapshotResponse { Blob = ByteString.CopyFrom(new byte[64 * 1024]) });
                    }
                }
                catch (Exception e)
                {
                    ended.TrySetResult(e);
                    throw;
                }
            });
        await using var server = await GrpcTestServer.StartAsync(registry);
        using var channel = new GrpcChannel(server.Address);
        var call = channel.ServerStreaming("/etcdserverpb.Maintenance/Snapshot", new SnapshotRequest(), SnapshotResponse.Parser);
        for (var i = 0; i < 3; i++)
        {
            Assert.True(await call.MoveNextAsync());
        }
        await Task.Delay(300); // let the server fill the windows and block
        call.Dispose();
        var error = await ended.Task.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.IsAssignableFrom<OperationCanceledException>(error);
        await Task.Delay(200);
        Assert.Empty(server.Logs.Errors());
    }

    [Fact]
    public async Task OverlappingWritersNeverInterleaveFrames()
    {
        var registry = new GrpcServiceRegistry().AddServerStreaming<SnapshotRequest, SnapshotResponse>(
            "/etcdserverpb.Maintenance/Snapshot", SnapshotRequest.Parser, async (req, writer, ctx) =>
            {
                async Task Produce(byte tag)
                {
                    for (var i = 0; i < 300; i++)
                    {
                        await writer.WriteAsync(new SnapshotResponse { RemainingBytes = (ulong)i, Blob = ByteString.CopyFrom(Enumerable.Repeat(tag, 100 + i).ToArray()) });
                    }
                }
                await Task.WhenAll(Task.Run(() => Produce(1)), Task.Run(() => Produce(2)));
            });
        await using var server = await GrpcTestServer.StartAsync(registry);
        using var channel = new GrpcChannel(server.Address);
        using var call = channel.ServerStreaming("/etcdserverpb.Maintenance/Snapshot", new SnapshotRequest(), SnapshotResponse.Parser);
        var next = new Dictionary<byte, ulong> { [1] = 0, [2] = 0 };
        await foreach (var r in call)
        {
            var tag = r.Blob[0];
            Assert.All(r.Blob, b => Assert.Equal(tag, b));
            Assert.Equal(next[tag]++, r.RemainingBytes);
            Assert.Equal(100 + (int)r.RemainingBytes, r.Blob.Length);
        }
        Assert.Equal(300ul, next[1]);
        Assert.Equal(300ul, next[2]);
    }

    [Fact]
    public async Task ManyConcurrentStreamsOnOneConnection()
    {
        // Go clients put every watch of a client on one connection; Kestrel's default cap is 100.
        var registry = new GrpcServiceRegistry().AddDuplexStreaming<WatchRequest, WatchResponse>("/etcdserverpb.Watch/Watch", WatchRequest.Parser,
            async (requests, writer, ctx) =>
            {
                await foreach (var r in requests)
                {
                    await writer.WriteAsync(new WatchResponse { WatchId = r.CreateRequest.WatchId, Created = true });
                }
            });
        await using var server = await GrpcTestServer.StartAsync(registry);
        using var channel = new GrpcChannel(server.Address);
        var calls = new List<DuplexStreamingCall<WatchRequest, WatchResponse>>();
        for (var i = 0; i < 150; i++)
        {
            var call = channel.DuplexStreaming<WatchRequest, WatchResponse>("/etcdserverpb.Watch/Watch", WatchResponse.Parser);
            await call.WriteAsync(new WatchRequest { CreateRequest = new WatchCreateRequest { WatchId = i } });
            calls.Add(call);
        }
        for (var i = 0; i < calls.Count; i++)
        {
            Assert.True(await calls[i].MoveNextAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10)));
            Assert.Equal(i, calls[i].Current.WatchId);
        }
        foreach (var call in calls)
        {
            await call.CompleteRequestAsync();
            Assert.False(await call.MoveNextAsync());
            call.Dispose();
        }
    }
}
