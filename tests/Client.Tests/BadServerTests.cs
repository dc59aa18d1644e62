using System.Diagnostics;
using Cairn.Client.Tests.Infra;
using Cairn.Protocol;
using Etcdserverpb;
using Google.Protobuf;
using Microsoft.AspNetCore.Http;

namespace Cairn.Client.Tests;

/// <summary>
/// Servers that break the protocol (truncated frames, missing trailers, silence, garbage) must
/// produce a clear exception within the deadline, never a hang; and the retry rule: a write is
/// re-sent only when it provably never reached a server. A real Cairn member plays the good endpoint.
/// </summary>
public sealed class BadServerTests(CairnMember good) : IClassFixture<CairnMember>
{
    // Silent servers are given a short deadline; servers that misbehave quickly get a long one, so
    // the test shows the error arrives on its own, long before the deadline (and cold-start JIT fits).
    private static readonly TimeSpan Short = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(10);

    private static EtcdClient Client(params string[] endpoints) => Client(Long, endpoints);

    private static EtcdClient Client(TimeSpan deadline, params string[] endpoints) => new(new EtcdClientOptions
    {
        Endpoints = endpoints,
        CallTimeout = deadline,
        ConnectTimeout = TimeSpan.FromMilliseconds(500),
        WatchProbeInterval = TimeSpan.FromMilliseconds(300),
        WatchProbeTimeout = TimeSpan.FromMilliseconds(500),
    });

    private static async Task<EtcdException> FailsWithin(TimeSpan bound, Func<Task> call)
    {
        var sw = Stopwatch.StartNew();
        var error = await Assert.ThrowsAsync<EtcdException>(call);
        Assert.True(sw.Elapsed < bound, $"took {sw.Elapsed}");
        return error;
    }

    /// <summary>A quick failure: well inside the long deadline.</summary>
    private static Task<EtcdException> FailsFast(Func<Task> call) => FailsWithin(TimeSpan.FromSeconds(4), call);

    /// <summary>A silent server: the short deadline ends it.</summary>
    private static Task<EtcdException> FailsAtDeadline(Func<Task> call) => FailsWithin(Short + TimeSpan.FromSeconds(2), call);

    private static async Task GrpcHeaders(HttpContext context)
    {
        context.Response.ContentType = "application/grpc";
        await context.Response.Body.FlushAsync();
    }

    private static byte[] Frame(IMessage message)
    {
        var body = message.ToByteArray();
        var frame = new byte[5 + body.Length];
        frame[1] = (byte)(body.Length >> 24);
        frame[2] = (byte)(body.Length >> 16);
        frame[3] = (byte)(body.Length >> 8);
        frame[4] = (byte)body.Length;
        body.CopyTo(frame, 5);
        return frame;
    }

    [Fact]
    public async Task TruncatedFrame()
    {
        await using var server = await FakeServer.StartAsync(async context =>
        {
            await GrpcHeaders(context);
            // Announces 100 bytes, sends 10, ends the stream.
            await context.Response.Body.WriteAsync(new byte[] { 0, 0, 0, 0, 100, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 });
        });
        await using var client = Client(server.Endpoint);
        var error = await FailsFast(() => client.GetAsync("k"));
        Assert.Equal(server.Endpoint + "/", error.Endpoint);
        Assert.NotEqual(StatusCode.OK, error.Status);
        Assert.NotEqual(StatusCode.DeadlineExceeded, error.Status);
    }

    [Fact]
    public async Task MissingTrailers()
    {
        await using var server = await FakeServer.StartAsync(async context =>
        {
            await GrpcHeaders(context);
            await context.Response.Body.WriteAsync(Frame(new RangeResponse { Header = new ResponseHeader { Revision = 1 } }));
        });
        await using var client = Client(server.Endpoint);
        var error = await FailsFast(() => client.GetAsync("k"));
        Assert.Equal(StatusCode.Internal, error.Status);
        Assert.Contains("trailers", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ServerThatNeverAnswers()
    {
        await using var server = await FakeServer.StartAsync(async context =>
        {
            await Task.Delay(Timeout.Infinite, context.RequestAborted);
        });
        await using var client = Client(Short, server.Endpoint);
        var error = await FailsAtDeadline(() => client.GetAsync("k"));
        Assert.Equal(StatusCode.DeadlineExceeded, error.Status);
        var write = await FailsAtDeadline(() => client.PutAsync("k", "v"));
        Assert.Equal(StatusCode.DeadlineExceeded, write.Status);
    }

    [Fact]
    public async Task TcpServerThatNeverSpeaksHttp2()
    {
        using var server = new RawTcpServer(async stream => await Task.Delay(Timeout.Infinite));
        await using var client = Client(Short, server.Endpoint);
        var error = await FailsAtDeadline(() => client.GetAsync("k"));
        Assert.Equal(StatusCode.DeadlineExceeded, error.Status);
    }

    [Fact]
    public async Task TcpServerThatAnswersGarbage()
    {
        using var server = new RawTcpServer(async stream =>
        {
            await stream.WriteAsync("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n"u8.ToArray());
            stream.Close();
        });
        await using var client = Client(server.Endpoint);
        var error = await FailsFast(() => client.GetAsync("k"));
        Assert.NotEqual(StatusCode.OK, error.Status);
    }

    [Fact]
    public async Task NonGrpcAnswer()
    {
        await using var server = await FakeServer.StartAsync(async context =>
        {
            context.Response.ContentType = "text/html";
            await context.Response.WriteAsync("<html>hello</html>");
        });
        await using var client = Client(server.Endpoint);
        var error = await FailsFast(() => client.GetAsync("k"));
        Assert.Equal(StatusCode.Unknown, error.Status);
        Assert.Contains("content-type", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WriteIsRetriedOnlyWhenItNeverReachedAServer()
    {
        // Nobody listens on the first endpoint: connection refused proves the Put was never sent.
        var refused = $"http://127.0.0.1:{TestPorts.Free()}";
        await using (var client = Client(refused, good.Endpoint))
        {
            var put = await client.PutAsync("retry/refused", "v");
            Assert.True(put.Header.Revision > 0);
        }

        // This server reads the whole request, then resets the stream: the write may have been applied.
        await using var resetter = await FakeServer.StartAsync(async context =>
        {
            await context.Request.Body.CopyToAsync(Stream.Null);
            context.Abort();
        });
        await using (var client = Client(resetter.Endpoint, good.Endpoint))
        {
            var error = await FailsFast(() => client.PutAsync("retry/reset", "v"));
            Assert.Equal(1, resetter.Requests);
            Assert.Empty((await client.GetAsync("retry/reset")).Kvs); // the good member never saw it
            Assert.NotEqual(StatusCode.OK, error.Status);
        }

        // The same failure on a read moves on to the next endpoint.
        await using (var client = Client(resetter.Endpoint, good.Endpoint))
        {
            var got = await client.GetAsync("retry/refused");
            Assert.Equal("v", Assert.Single(got.Kvs).Value.ToStringUtf8());
            Assert.True(resetter.Requests >= 2);
        }
    }

    [Fact]
    public async Task WatchMovesOffAMemberThatNeverAnswers()
    {
        using var silent = new RawTcpServer(async stream => await Task.Delay(Timeout.Infinite));
        await using var client = Client(Short, silent.Endpoint, good.Endpoint);
        await using var writer = Client(good.Endpoint);
        var start = (await writer.PutAsync("silent/a", "1")).Header.Revision;
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        var sw = Stopwatch.StartNew();
        await foreach (var batch in client.Watch("silent/a", new WatchOptions { StartRevision = start }, cts.Token))
        {
            Assert.Equal(start, Assert.Single(batch.Events).Kv.ModRevision);
            Assert.Equal(good.Endpoint + "/", batch.Endpoint);
            break;
        }
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5), $"took {sw.Elapsed}");
    }
}
