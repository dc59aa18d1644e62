using System.Buffers;
using System.IO.Pipelines;
using Cairn.Grpc;
using Cairn.Protocol;
using Etcdserverpb;
using Google.Protobuf;

namespace Cairn.Api.Tests;

/// <summary>The shared framing pieces on their own.</summary>
public class FramingTests
{
    [Theory]
    [InlineData("1H", 3600_000.0)]
    [InlineData("2M", 120_000.0)]
    [InlineData("3S", 3000.0)]
    [InlineData("250m", 250.0)]
    [InlineData("4963131u", 4963.131)]
    [InlineData("1000000n", 1.0)]
    [InlineData("99999999S", 99999999000.0)]
    [InlineData("0n", 0.0)]
    public void ParsesTimeouts(string header, double milliseconds)
    {
        Assert.True(GrpcTimeout.TryParse(header, out var t));
        Assert.Equal(milliseconds, t.TotalMilliseconds, 3);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("S")]
    [InlineData("10")]
    [InlineData("-1S")]
    [InlineData("1.5S")]
    [InlineData("123456789S")]
    [InlineData("5s")]
    [InlineData(" 5S")]
    public void RejectsBadTimeouts(string? header) => Assert.False(GrpcTimeout.TryParse(header, out _));

    [Theory]
    [InlineData(0.5)]
    [InlineData(1)]
    [InlineData(1500)]
    [InlineData(5_000_000)]
    [InlineData(1e10)]
    public void FormatsTimeoutsThatParseBackNoShorter(double milliseconds)
    {
        var t = TimeSpan.FromMilliseconds(milliseconds);
        var header = GrpcTimeout.Format(t);
        Assert.True(header.Length <= 9, header);
        Assert.True(GrpcTimeout.TryParse(header, out var back));
        Assert.True(back >= t, $"{header} -> {back} < {t}");
        Assert.True(back - t < TimeSpan.FromTicks(Math.Max(t.Ticks / 1000, 10)), $"{header} -> {back} vs {t}");
    }

    [Theory]
    [InlineData("plain ascii", "plain ascii")]
    [InlineData("100%", "100%25")]
    [InlineData("a\nb", "a%0Ab")]
    [InlineData("ключ", "%D0%BA%D0%BB%D1%8E%D1%87")]
    [InlineData("✓", "%E2%9C%93")]
    public void PercentEncodesStatusMessages(string text, string encoded)
    {
        Assert.Equal(encoded, GrpcStatusMessage.Encode(text));
        Assert.Equal(text, GrpcStatusMessage.Decode(encoded));
    }

    [Theory]
    [InlineData("%", "%")]
    [InlineData("%4", "%4")]
    [InlineData("%zz", "%zz")]
    [InlineData("ab%41", "abA")]
    public void DecodesMalformedEscapesLeniently(string value, string decoded) => Assert.Equal(decoded, GrpcStatusMessage.Decode(value));

    [Fact]
    public async Task ReadsFramesSplitAcrossSegments()
    {
        var pipe = new Pipe();
        var messages = Enumerable.Range(0, 5).Select(i => new RangeRequest { Key = ByteString.CopyFrom(new byte[i * 3000]), Limit = i }).ToList();
        var bytes = messages.SelectMany(m => RawHttp.Frame(m)).ToArray();
        var writer = Task.Run(async () =>
        {
            // Dribble the bytes in odd-sized pieces so frames and headers straddle reads.
            for (var i = 0; i < bytes.Length; i += 7)
            {
                await pipe.Writer.WriteAsync(bytes.AsMemory(i, Math.Min(7, bytes.Length - i)));
            }
            await pipe.Writer.CompleteAsync();
        });
        for (var i = 0; i < messages.Count; i++)
        {
            var m = await GrpcMessageReader.ReadAsync(pipe.Reader, RangeRequest.Parser, 1 << 20, null, true, default);
            Assert.Equal(messages[i], m);
        }
        Assert.Null(await GrpcMessageReader.ReadAsync(pipe.Reader, RangeRequest.Parser, 1 << 20, null, true, default));
        await writer;
    }

    [Fact]
    public async Task WritesFramesIntoABufferWriter()
    {
        var pipe = new Pipe();
        var message = new RangeRequest { Key = ByteString.CopyFromUtf8("abc"), Limit = 9 };
        Assert.Equal(message.CalculateSize(), GrpcFrame.Write(pipe.Writer, message));
        GrpcFrame.Write(pipe.Writer, new RangeRequest());
        await pipe.Writer.CompleteAsync();
        var read = await pipe.Reader.ReadAsync();
        Assert.Equal([.. RawHttp.Frame(message), 0, 0, 0, 0, 0], read.Buffer.ToArray());
    }

    [Fact]
    public async Task LimitIsCheckedAgainstTheHeader()
    {
        var pipe = new Pipe();
        await pipe.Writer.WriteAsync(RawHttp.Frame([], length: 101));
        var e = await Assert.ThrowsAsync<RpcException>(() => GrpcMessageReader.ReadAsync(pipe.Reader, RangeRequest.Parser, 100, null, true, default).AsTask());
        Assert.Equal(StatusCode.ResourceExhausted, e.Status);
        Assert.Equal("grpc: received message larger than max (101 vs. 100)", e.Message);
    }

    [Theory]
    [InlineData("application/grpc", true)]
    [InlineData("application/grpc+proto", true)]
    [InlineData("application/grpc; charset=utf-8", true)]
    [InlineData("APPLICATION/GRPC", true)]
    [InlineData("application/grpc+json", false)]
    [InlineData("application/grpcx", false)]
    [InlineData("application/json", false)]
    [InlineData(null, false)]
    public void RecognisesGrpcContentTypes(string? contentType, bool expected) => Assert.Equal(expected, GrpcProtocol.IsGrpcContentType(contentType));

    [Fact]
    public void RegistryRejectsBadPathsAndDuplicates()
    {
        var registry = new GrpcServiceRegistry();
        registry.AddUnary("/etcdserverpb.KV/Range", RangeRequest.Parser, (r, c) => ValueTask.FromResult(new RangeResponse()));
        Assert.Throws<InvalidOperationException>(() =>
            registry.AddUnary("/etcdserverpb.KV/Range", RangeRequest.Parser, (r, c) => ValueTask.FromResult(new RangeResponse())));
        foreach (var bad in new[] { "", "Range", "/Range", "/a/b/c", "/svc/", "etcdserverpb.KV/Range" })
        {
            Assert.Throws<ArgumentException>(() => registry.AddUnary(bad, RangeRequest.Parser, (r, c) => ValueTask.FromResult(new RangeResponse())));
        }
    }
}
