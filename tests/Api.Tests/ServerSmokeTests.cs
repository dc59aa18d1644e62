using Cairn.Grpc;
using Etcdserverpb;
using Google.Protobuf;

namespace Cairn.Api.Tests;

public class ServerSmokeTests
{
    [Fact]
    public async Task RawUnaryRoundTrip()
    {
        var registry = new GrpcServiceRegistry();
        registry.AddUnary("/etcdserverpb.KV/Range", RangeRequest.Parser, (req, ctx) =>
            ValueTask.FromResult(new RangeResponse { Count = req.Key.Length, Header = new ResponseHeader { Revision = 7 } }));
        await using var server = await GrpcTestServer.StartAsync(registry);
        using var client = RawHttp.CreateClient();
        var result = await RawHttp.PostAsync(client, server.Address, "/etcdserverpb.KV/Range",
            RawHttp.Frame(new RangeRequest { Key = ByteString.CopyFromUtf8("abc") }));
        Assert.True(result.GrpcStatus == 0, $"{result.HttpStatus} {result.Headers} body={result.Body.Length} trailers={result.Trailers} logs={string.Join("\n", server.Logs.Errors(Microsoft.Extensions.Logging.LogLevel.Debug))}");
        Assert.False(result.TrailersOnly);
        Assert.Equal(0, result.Body[0]);
        var response = RangeResponse.Parser.ParseFrom(result.Body.AsSpan(5).ToArray());
        Assert.Equal(3, response.Count);
        Assert.Equal(7, response.Header.Revision);
    }
}
