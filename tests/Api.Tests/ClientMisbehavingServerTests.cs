using System.Buffers.Binary;
using System.Diagnostics;
using Cairn.Grpc.Client;
using Cairn.Protocol;
using Etcdserverpb;
using Google.Protobuf;
using Microsoft.AspNetCore.Http;

namespace Cairn.Api.Tests;

/// <summary>
/// Our client against plain Kestrel endpoints that break the protocol (no Cairn.Grpc server code):
/// each failure is a clear <see cref="RpcException"/>, never a hang.
/// </summary>
public class ClientMisbehavingServerTests
{
    private const string Range = "/etcdserverpb.KV/Range";

    private static byte[] Frame(IMessage message, uint? length = null)
    {
        var payload = message.ToByteArray();
        var frame = new byte[5 + payload.Length];
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), length ?? (uint)payload.Length);
        payload.CopyTo(frame, 5);
        return frame;
    }

    private static async Task<RpcException> CallAgainst(RequestDelegate server, DateTime? deadline = null, GrpcChannelOptions? options = null)
    {
        await using var fake = await GrpcTestServer.StartRawAsync(server);
        using var channel = new GrpcChannel(fake.Address, options);
        var sw = Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<RpcException>(() => channel.UnaryAsync(Range, new RangeRequest(), RangeResponse.Parser, deadline: deadline)
            .WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5), $"took {sw.Elapsed}");
        return e;
    }

    private static readonly RangeResponse Response = new() { Count = 7, Kvs = { new Mvccpb.KeyValue { Key = ByteString.CopyFromUtf8("k") } } };

    [Fact]
    public async Task TruncatedFrameIsInternal()
    {
        var e = await CallAgainst(async ctx =>
        {
            ctx.Response.ContentType = "application/grpc";
            var frame = Frame(Response, length: 1000);
            await ctx.Response.Body.WriteAsync(frame);
            ctx.Response.AppendTrailer("grpc-status", "0");
        });
        Assert.Equal(StatusCode.Internal, e.Status);
        Assert.Contains("unexpected EOF", e.Message);
    }

    [Fact]
    public async Task TruncatedFrameHeaderIsInternal()
    {
        var e = await CallAgainst(async ctx =>
        {
            ctx.Response.ContentType = "application/grpc";
            await ctx.Response.Body.WriteAsync(new byte[] { 0, 0 });
        });
        Assert.Equal(StatusCode.Internal, e.Status);
    }

    [Fact]
    public async Task MissingTrailersIsInternal()
    {
        var e = await CallAgainst(async ctx =>
        {
            ctx.Response.ContentType = "application/grpc";
            await ctx.Response.Body.WriteAsync(Frame(Response));
        });
        Assert.Equal(StatusCode.Internal, e.Status);
        Assert.Equal("server closed the stream without sending trailers", e.Message);
    }

    [Fact]
    public async Task NeverAnsweringServerHitsTheDeadline()
    {
        var sw = Stopwatch.StartNew();
        var e = await CallAgainst(async ctx => await Task.Delay(Timeout.Infinite, ctx.RequestAborted), DateTime.UtcNow.AddMilliseconds(500));
        Assert.Equal(StatusCode.DeadlineExceeded, e.Status);
        Assert.InRange(sw.ElapsedMilliseconds, 400, 3000);
    }

    [Fact]
    public async Task ServerStallingAfterHeadersHitsTheDeadline()
    {
        var e = await CallAgainst(async ctx =>
        {
            ctx.Response.ContentType = "application/grpc";
            await ctx.Response.StartAsync();
            await ctx.Response.Body.WriteAsync(Frame(Response).AsMemory(0, 3));
            await ctx.Response.Body.FlushAsync();
            await Task.Delay(Timeout.Infinite, ctx.RequestAborted);
        }, DateTime.UtcNow.AddMilliseconds(500));
        Assert.Equal(StatusCode.DeadlineExceeded, e.Status);
    }

    [Fact]
    public async Task DeadlineIsSentAsGrpcTimeout()
    {
        string? seen = null;
        var e = await CallAgainst(ctx =>
        {
            seen = ctx.Request.Headers["grpc-timeout"];
            ctx.Response.ContentType = "application/grpc";
            ctx.Response.Headers["grpc-status"] = "5";
            return Task.CompletedTask;
        }, DateTime.UtcNow.AddSeconds(4));
        Assert.Equal(StatusCode.NotFound, e.Status);
        Assert.NotNull(seen);
        Assert.True(Cairn.Grpc.GrpcTimeout.TryParse(seen, out var timeout));
        Assert.InRange(timeout.TotalSeconds, 3, 4.01);
    }

    [Fact]
    public async Task WrongContentTypeIsUnknown()
    {
        var e = await CallAgainst(async ctx =>
        {
            ctx.Response.ContentType = "text/html";
            await ctx.Response.WriteAsync("<html>proxy error</html>");
        });
        Assert.Equal(StatusCode.Unknown, e.Status);
        Assert.Contains("text/html", e.Message);
    }

    [Fact]
    public async Task Http404WithoutGrpcStatusIsUnimplemented()
    {
        var e = await CallAgainst(ctx =>
        {
            ctx.Response.StatusCode = 404;
            return Task.CompletedTask;
        });
        Assert.Equal(StatusCode.Unimplemented, e.Status);
        Assert.Contains("404", e.Message);
    }

    [Fact]
    public async Task Http503IsUnavailable()
    {
        var e = await CallAgainst(ctx =>
        {
            ctx.Response.StatusCode = 503;
            return Task.CompletedTask;
        });
        Assert.Equal(StatusCode.Unavailable, e.Status);
    }

    [Fact]
    public async Task GarbageResponseMessageIsInternal()
    {
        var e = await CallAgainst(async ctx =>
        {
            ctx.Response.ContentType = "application/grpc";
            await ctx.Response.Body.WriteAsync(new byte[] { 0, 0, 0, 0, 3, 0xFF, 0xFF, 0xFF });
            ctx.Response.AppendTrailer("grpc-status", "0");
        });
        Assert.Equal(StatusCode.Internal, e.Status);
        Assert.StartsWith("grpc: failed to unmarshal the received message", e.Message);
    }

    [Fact]
    public async Task OkWithoutMessageForUnaryIsInternal()
    {
        var e = await CallAgainst(ctx =>
        {
            ctx.Response.ContentType = "application/grpc";
            ctx.Response.Headers["grpc-status"] = "0";
            return Task.CompletedTask;
        });
        Assert.Equal(StatusCode.Internal, e.Status);
    }

    [Fact]
    public async Task StreamResetByServerIsMapped()
    {
        var e = await CallAgainst(ctx =>
        {
            ctx.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpResetFeature>()!.Reset(0x8); // CANCEL
            return Task.CompletedTask;
        });
        Assert.Equal(StatusCode.Cancelled, e.Status);
    }

    [Fact]
    public async Task ErrorAfterMessagesOnAStreamIsThrownFromTheRead()
    {
        await using var fake = await GrpcTestServer.StartRawAsync(async ctx =>
        {
            ctx.Response.ContentType = "application/grpc";
            await ctx.Response.Body.WriteAsync(Frame(Response));
            await ctx.Response.Body.WriteAsync(Frame(Response));
            ctx.Response.AppendTrailer("grpc-status", "11");
            ctx.Response.AppendTrailer("grpc-message", "etcdserver: mvcc: required revision has been compacted");
        });
        using var channel = new GrpcChannel(fake.Address);
        using var call = channel.ServerStreaming(Range, new RangeRequest(), RangeResponse.Parser);
        Assert.True(await call.MoveNextAsync());
        Assert.True(await call.MoveNextAsync());
        var e = await Assert.ThrowsAsync<RpcException>(() => call.MoveNextAsync().AsTask());
        Assert.Equal(StatusCode.OutOfRange, e.Status);
        Assert.Equal(EtcdErrors.CompactedMessage, e.Message);
        // The error sticks.
        Assert.Same(e, await Assert.ThrowsAsync<RpcException>(() => call.MoveNextAsync().AsTask()));
        Assert.Equal(StatusCode.OutOfRange, call.Status);
    }

    [Fact]
    public async Task ConnectionClosedByPeerIsUnavailable()
    {
        // A TCP server that accepts and hangs up, as a crashing member would.
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        var accepting = Task.Run(async () =>
        {
            for (var i = 0; i < 3; i++)
            {
                using var socket = await listener.AcceptSocketAsync();
                var buffer = new byte[1024];
                await socket.ReceiveAsync(buffer); // the HTTP/2 preface
                socket.LingerState = new System.Net.Sockets.LingerOption(true, 0); // RST, not FIN
                socket.Close();
            }
        });
        using var channel = new GrpcChannel(new Uri($"http://127.0.0.1:{port}"));
        var e = await Assert.ThrowsAsync<RpcException>(() => channel.UnaryAsync(Range, new RangeRequest(), RangeResponse.Parser)
            .WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(StatusCode.Unavailable, e.Status);
    }

    [Fact]
    public async Task ServerAbortingTheCallMidStreamIsAClearError()
    {
        await using var fake = await GrpcTestServer.StartRawAsync(async ctx =>
        {
            ctx.Response.ContentType = "application/grpc";
            await ctx.Response.Body.WriteAsync(Frame(Response));
            await ctx.Response.Body.FlushAsync();
            ctx.Abort();
        });
        using var channel = new GrpcChannel(fake.Address);
        using var call = channel.ServerStreaming(Range, new RangeRequest(), RangeResponse.Parser);
        var e = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            while (await call.MoveNextAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10)))
            {
            }
        });
        Assert.True(e.Status is StatusCode.Internal or StatusCode.Unavailable or StatusCode.Cancelled, e.ToString());
    }
}
