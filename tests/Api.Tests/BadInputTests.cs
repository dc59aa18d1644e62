using System.Diagnostics;
using System.Net;
using Cairn.Grpc;
using Etcdserverpb;
using Google.Protobuf;

namespace Cairn.Api.Tests;

/// <summary>
/// Malformed requests built by hand (no Cairn.Grpc framing on the sending side): each gets a clear
/// gRPC status, and the server keeps serving the next request on the same connection.
/// </summary>
public class BadInputTests : IAsyncLifetime
{
    private const string Range = "/etcdserverpb.KV/Range";
    private GrpcTestServer _server = null!;
    private readonly HttpClient _client = RawHttp.CreateClient();

    public async Task InitializeAsync()
    {
        var registry = new GrpcServiceRegistry()
            .AddUnary(Range, RangeRequest.Parser, (req, ctx) => ValueTask.FromResult(new RangeResponse { Count = req.Limit }))
            .AddUnary<RangeRequest, RangeResponse>("/etcdserverpb.KV/Slow", RangeRequest.Parser, async (req, ctx) =>
            {
                // Ignores its token on purpose: the server must still answer at the deadline.
                await Task.Delay(3000);
                return new RangeResponse();
            })
            .AddDuplexStreaming<WatchRequest, WatchResponse>("/etcdserverpb.Watch/Watch", WatchRequest.Parser, async (requests, writer, ctx) =>
            {
                await foreach (var r in requests)
                {
                    await writer.WriteAsync(new WatchResponse { WatchId = r.CreateRequest?.WatchId ?? -1 });
                }
            });
        _server = await GrpcTestServer.StartAsync(registry, new GrpcServerOptions { MaxReceiveMessageSize = 64 * 1024 });
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _server.DisposeAsync();
        Assert.DoesNotContain(_server.Logs.Errors(), e => e.Contains("Exception", StringComparison.Ordinal) && !e.Contains("secret", StringComparison.Ordinal));
    }

    private Task<RawHttp.Result> Post(byte[] body, string path = Range, string contentType = "application/grpc",
        IEnumerable<KeyValuePair<string, string>>? headers = null) =>
        RawHttp.PostAsync(_client, _server.Address, path, body, contentType, headers);

    /// <summary>The server still answers a good request after the bad one.</summary>
    private async Task AssertStillServing()
    {
        var ok = await Post(RawHttp.Frame(new RangeRequest { Limit = 42 }));
        Assert.Equal(0, ok.GrpcStatus);
        Assert.Equal(42, RangeResponse.Parser.ParseFrom(ok.Body.AsSpan(5).ToArray()).Count);
    }

    private static void AssertStatus(RawHttp.Result result, int status, string messageStart)
    {
        Assert.True(result.GrpcStatus == status, $"grpc-status {result.GrpcStatus} ({result.GrpcMessage}), expected {status}");
        Assert.StartsWith(messageStart, Uri.UnescapeDataString(result.GrpcMessage ?? ""));
    }

    [Fact]
    public async Task LengthBeyondTheBodyIsTruncated()
    {
        var payload = new RangeRequest { Key = ByteString.CopyFromUtf8("abc") }.ToByteArray();
        var result = await Post(RawHttp.Frame(payload, length: (uint)payload.Length + 100));
        AssertStatus(result, 13, "grpc: received message truncated");
        Assert.True(result.TrailersOnly);
        Assert.Empty(result.Body);
        await AssertStillServing();
    }

    [Fact]
    public async Task TruncatedHeaderIsInternal()
    {
        var result = await Post([0, 0, 0]);
        AssertStatus(result, 13, "grpc: received truncated message header");
        await AssertStillServing();
    }

    [Fact]
    public async Task CompressedFlagWithoutEncodingIsInternal()
    {
        var result = await Post(RawHttp.Frame(new RangeRequest().ToByteArray(), flag: 1));
        AssertStatus(result, 13, "grpc: compressed flag set with identity or empty encoding");
        await AssertStillServing();
    }

    [Fact]
    public async Task CompressedFlagWithUnknownEncodingIsUnimplemented()
    {
        var result = await Post(RawHttp.Frame([1, 2, 3], flag: 1), headers: [new("grpc-encoding", "gzip")]);
        AssertStatus(result, 12, "grpc: Decompressor is not installed for grpc-encoding \"gzip\"");
        await AssertStillServing();
    }

    [Fact]
    public async Task UnknownPayloadFormatIsInternal()
    {
        var result = await Post(RawHttp.Frame([], flag: 7));
        AssertStatus(result, 13, "grpc: received unexpected payload format 7");
        await AssertStillServing();
    }

    [Fact]
    public async Task GarbageProtobufIsInternal()
    {
        var result = await Post(RawHttp.Frame([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]));
        AssertStatus(result, 13, "grpc: error unmarshalling request: ");
        await AssertStillServing();
    }

    [Fact]
    public async Task EmptyBodyForUnaryIsInternal()
    {
        var result = await Post([]);
        AssertStatus(result, 13, "grpc: the request stream ended without a message");
        await AssertStillServing();
    }

    [Fact]
    public async Task TwoMessagesForUnaryIsInternal()
    {
        var one = RawHttp.Frame(new RangeRequest { Limit = 1 });
        var result = await Post([.. one, .. one]);
        AssertStatus(result, 13, "grpc: received a second request message");
        await AssertStillServing();
    }

    [Fact]
    public async Task WrongContentTypeIs415WithInvalidArgument()
    {
        var result = await Post(RawHttp.Frame(new RangeRequest()), contentType: "application/json");
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, result.HttpStatus);
        AssertStatus(result, 3, "invalid gRPC request content-type \"application/json\"");
        await AssertStillServing();
    }

    [Fact]
    public async Task ContentTypeVariantsAreAccepted()
    {
        Assert.Equal(0, (await Post(RawHttp.Frame(new RangeRequest()), contentType: "application/grpc+proto")).GrpcStatus);
        Assert.Equal(0, (await Post(RawHttp.Frame(new RangeRequest()), contentType: "application/grpc; charset=utf-8")).GrpcStatus);
        Assert.Equal(415, (int)(await Post(RawHttp.Frame(new RangeRequest()), contentType: "application/grpc+json")).HttpStatus);
    }

    [Fact]
    public async Task HugeLengthIsRefusedFromTheHeaderAlone()
    {
        // Claims 1 GiB but sends 10 bytes: the answer must come from the prefix, not after buffering.
        var sw = Stopwatch.StartNew();
        var result = await Post(RawHttp.Frame(new byte[10], length: 1u << 30));
        AssertStatus(result, 8, $"grpc: received message larger than max ({1u << 30} vs. {64 * 1024})");
        Assert.True(sw.ElapsedMilliseconds < 2000);
        await AssertStillServing();
    }

    [Fact]
    public async Task OversizedMessageIsResourceExhausted()
    {
        var big = new RangeRequest { Key = ByteString.CopyFrom(new byte[200 * 1024]) };
        var result = await Post(RawHttp.Frame(big));
        AssertStatus(result, 8, $"grpc: received message larger than max ({big.CalculateSize()} vs. 65536)");
        await AssertStillServing();
    }

    [Fact]
    public async Task MalformedTimeoutIsInternal()
    {
        foreach (var bad in new[] { "10", "abcS", "123456789S", "5x", "" })
        {
            var result = await Post(RawHttp.Frame(new RangeRequest()), headers: [new("grpc-timeout", bad)]);
            AssertStatus(result, 13, "transport: malformed grpc-timeout");
        }
        await AssertStillServing();
    }

    [Fact]
    public async Task ServerEnforcesDeadlineEvenIfHandlerIgnoresIt()
    {
        var sw = Stopwatch.StartNew();
        var result = await Post(RawHttp.Frame(new RangeRequest()), path: "/etcdserverpb.KV/Slow", headers: [new("grpc-timeout", "300m")]);
        AssertStatus(result, 4, "context deadline exceeded");
        Assert.InRange(sw.ElapsedMilliseconds, 250, 3000);
        await AssertStillServing();
        // The handler that ignores its token is named in the log (it delays graceful shutdown).
        await Task.Delay(2500);
        Assert.Contains(_server.Logs.Errors(), l => l.Contains("/etcdserverpb.KV/Slow still runs", StringComparison.Ordinal));
    }

    [Fact]
    public async Task UnknownMethodIsTrailersOnlyUnimplemented()
    {
        var result = await Post(RawHttp.Frame(new RangeRequest()), path: "/etcdserverpb.KV/Nope");
        Assert.Equal(HttpStatusCode.OK, result.HttpStatus);
        Assert.True(result.TrailersOnly);
        Assert.Empty(result.Body);
        AssertStatus(result, 12, "unknown method Nope for service etcdserverpb.KV");
        var malformed = await Post(RawHttp.Frame(new RangeRequest()), path: "/nonsense");
        AssertStatus(malformed, 12, "malformed method name");
        await AssertStillServing();
    }

    [Fact]
    public async Task BadFrameInTheMiddleOfADuplexStream()
    {
        var good = RawHttp.Frame(new WatchRequest { CreateRequest = new WatchCreateRequest { WatchId = 5 } });
        var result = await Post([.. good, .. RawHttp.Frame([0xFF, 0xFF, 0xFF])], path: "/etcdserverpb.Watch/Watch");
        // The first message was answered, then the stream failed with a status in the trailers.
        Assert.False(result.TrailersOnly);
        Assert.Equal(5, WatchResponse.Parser.ParseFrom(result.Body.AsSpan(5).ToArray()).WatchId);
        AssertStatus(result, 13, "grpc: error unmarshalling request");
        await AssertStillServing();
    }

    [Fact]
    public async Task GetRequestIsRejected()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(_server.Address, Range))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        request.Headers.TryAddWithoutValidation("content-type", "application/grpc");
        using var response = await _client.SendAsync(request);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
        await AssertStillServing();
    }

    [Fact]
    public async Task ManyBadRequestsInParallelDoNotHurt()
    {
        var bad = new[] { RawHttp.Frame([0xFF]), [0, 0], RawHttp.Frame([], flag: 1), RawHttp.Frame(new byte[1], length: 999) };
        var tasks = Enumerable.Range(0, 100).Select(i => Post(bad[i % bad.Length]));
        foreach (var r in await Task.WhenAll(tasks))
        {
            Assert.Equal(13, r.GrpcStatus);
        }
        await AssertStillServing();
    }
}
