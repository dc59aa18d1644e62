using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using Cairn.Grpc;
using Microsoft.Extensions.Logging.Abstractions;
using static Cairn.Api.Tests.HpackDecoderTests;

namespace Cairn.Api.Tests;

/// <summary>The HTTP/2 :authority rewriter, the first-block sniffer and the connection's reader, on raw frames.</summary>
public class Http2AuthorityRewriterTests
{
    /// <summary>
    /// What etcdctl 3.4.23 sent (after the preface) for <c>--endpoints=http://127.0.0.1:41390 endpoint status</c>,
    /// captured with a relay: SETTINGS, SETTINGS ack, HEADERS (Huffman, incremental indexing; :authority
    /// http://127.0.0.1:41390) and the DATA of an empty StatusRequest.
    /// </summary>
    private static readonly byte[] EtcdctlFrames = Hex(
        "000000040000000000" + "000000040100000000" +
        "0000770104000000018386459760a924882d9dcb6571afa066a925a87510ac6e48d36a3f41909d29aee30c044eae05c0b86e34165f075f8b1d75d0620d263d4c4d65647a8b9acac8b4c7602bb2caecff40027465864d833505b11f40899acac8b24d494f6a7f8669f79d7421b7408d25062d495875996ee5b1063d5f03332e34" +
        "00000500010000000100000000 00");

    private static byte[] Preface => Http2FrameHeader.ClientPreface.ToArray();

    private static byte[] Frame(byte type, byte flags, int stream, byte[] payload)
    {
        var bytes = new byte[Http2FrameHeader.Size + payload.Length];
        new Http2FrameHeader(payload.Length, type, flags, stream).Write(bytes);
        payload.CopyTo(bytes, Http2FrameHeader.Size);
        return bytes;
    }

    private static List<(Http2FrameHeader Header, byte[] Payload)> Frames(byte[] bytes)
    {
        var frames = new List<(Http2FrameHeader, byte[])>();
        for (var at = 0; at < bytes.Length;)
        {
            var header = Http2FrameHeader.Read(new ReadOnlySequence<byte>(bytes, at, Http2FrameHeader.Size));
            frames.Add((header, bytes[(at + Http2FrameHeader.Size)..(at + Http2FrameHeader.Size + header.Length)]));
            at += Http2FrameHeader.Size + header.Length;
        }
        return frames;
    }

    private static Http2AuthorityRewriter Rewriter(int maxBlock = 65536) => new(4096, maxBlock, 131072);

    /// <summary>Feeds <paramref name="input"/> in pieces of <paramref name="chunk"/> bytes, as a transport might.</summary>
    private static byte[] Rewrite(byte[] input, int chunk, Http2AuthorityRewriter? rewriter = null)
    {
        rewriter ??= Rewriter();
        var output = new ArrayBufferWriter<byte>();
        var pending = Array.Empty<byte>();
        for (var at = 0; at < input.Length; at += chunk)
        {
            pending = [.. pending, .. input.AsSpan(at, Math.Min(chunk, input.Length - at))];
            var buffer = new ReadOnlySequence<byte>(pending);
            rewriter.Process(ref buffer, output);
            pending = buffer.ToArray();
        }
        Assert.Empty(pending);
        return output.WrittenSpan.ToArray();
    }

    private static string[] DecodeFresh(byte[] block) => Decode(new HpackDecoder(4096, 131072), block);

    private static string[] Fixed(string[] fields) =>
        [.. fields.Select(f => f.Replace(":authority: http://", ":authority: ", StringComparison.Ordinal))];

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(100_000)]
    public void EtcdctlRequestGetsHostPortAuthorityAndNoIndexing(int chunk)
    {
        var original = Frames(EtcdctlFrames);
        var expected = Decode(new HpackDecoder(4096, 131072), original[2].Payload);
        Assert.Contains(":authority: http://127.0.0.1:41390", expected);

        var output = Frames(Rewrite(EtcdctlFrames, chunk));
        Assert.Equal(4, output.Count);
        Assert.Equal(original[0], (output[0].Header, original[0].Payload));
        Assert.Equal(original[1].Header, output[1].Header);
        var headers = output[2];
        Assert.Equal(new Http2FrameHeader(headers.Payload.Length, Http2FrameHeader.Headers, Http2FrameHeader.EndHeaders, 1), headers.Header);
        var decoder = new HpackDecoder(4096, 131072);
        var fields = Decode(decoder, headers.Payload);
        Assert.Equal(Fixed(expected), fields);
        Assert.Contains(":authority: 127.0.0.1:41390", fields);
        Assert.Equal(0, decoder.Table.Count);
        Assert.Equal(original[3].Header, output[3].Header);
        Assert.Equal(original[3].Payload, output[3].Payload);
    }

    [Fact]
    public void LaterBlocksThatReferToTheClientsDynamicTableAreResolved()
    {
        var first = Frames(EtcdctlFrames)[2].Payload;
        var clientView = new HpackDecoder(4096, 131072);
        Decode(clientView, first);
        Assert.True(clientView.Table.Count >= 4);
        // The second request refers to every dynamic entry by index (62 is the newest), as grpc-go's encoder does.
        var second = Enumerable.Range(0, clientView.Table.Count).Select(i => (byte)(0x80 | (62 + i))).Prepend((byte)0x83).ToArray();
        var expected = Decode(clientView, second);

        var input = EtcdctlFrames.Concat(Frame(Http2FrameHeader.Headers, Http2FrameHeader.EndHeaders | Http2FrameHeader.EndStream, 3, second)).ToArray();
        var output = Frames(Rewrite(input, 5));
        var rewritten = output[4];
        Assert.Equal(3, rewritten.Header.StreamId);
        Assert.Equal(Http2FrameHeader.EndHeaders | Http2FrameHeader.EndStream, rewritten.Header.Flags);
        // Decodable on its own: the server's decoder never sees the client's table.
        Assert.Equal(Fixed(expected), DecodeFresh(rewritten.Payload));
        Assert.Contains(":authority: 127.0.0.1:41390", DecodeFresh(rewritten.Payload));
    }

    [Fact]
    public void PaddingIsDroppedPriorityKeptContinuationsJoined()
    {
        var block = Frames(EtcdctlFrames)[2].Payload;
        byte[] priority = [0x80, 0, 0, 3, 0x10];
        byte[] headersPayload = [2, .. priority, .. block[..50], 0, 0];
        var input = Frame(Http2FrameHeader.Headers, Http2FrameHeader.Padded | Http2FrameHeader.Priority | Http2FrameHeader.EndStream, 5, headersPayload)
            .Concat(Frame(Http2FrameHeader.Continuation, 0, 5, block[50..90]))
            .Concat(Frame(Http2FrameHeader.Continuation, Http2FrameHeader.EndHeaders, 5, block[90..]))
            .ToArray();
        var output = Frames(Rewrite(input, 3));
        var frame = Assert.Single(output);
        Assert.Equal(Http2FrameHeader.Priority | Http2FrameHeader.EndStream | Http2FrameHeader.EndHeaders, frame.Header.Flags);
        Assert.Equal(priority, frame.Payload[..5]);
        Assert.Contains(":authority: 127.0.0.1:41390", DecodeFresh(frame.Payload[5..]));
    }

    [Fact]
    public void LargeBlocksAreSplitIntoFramesTheServerAccepts()
    {
        List<HeaderField> fields =
        [
            new(":authority"u8.ToArray(), "https://h:1/x"u8.ToArray()),
            new("x-big"u8.ToArray(), Encoding.ASCII.GetBytes(new string('b', 40_000))),
        ];
        var block = new byte[HpackLiteralEncoder.EncodedLength(fields)];
        HpackLiteralEncoder.Encode(fields, block);
        var input = Frame(Http2FrameHeader.Headers, Http2FrameHeader.EndStream, 7, block[..16_384])
            .Concat(Frame(Http2FrameHeader.Continuation, Http2FrameHeader.EndHeaders, 7, block[16_384..]))
            .ToArray();
        var output = Frames(Rewrite(input, 4096));
        Assert.Equal(3, output.Count);
        Assert.All(output, f => Assert.True(f.Payload.Length <= Http2FrameHeader.MinMaxFrameSize));
        Assert.Equal([Http2FrameHeader.Headers, Http2FrameHeader.Continuation, Http2FrameHeader.Continuation], output.Select(f => f.Header.Type));
        Assert.Equal([Http2FrameHeader.EndStream, (byte)0, Http2FrameHeader.EndHeaders], output.Select(f => f.Header.Flags));
        var joined = output.SelectMany(f => f.Payload).ToArray();
        Assert.Equal([":authority: h:1", "x-big: " + new string('b', 40_000)], DecodeFresh(joined));
    }

    public static TheoryData<string, byte[], int> BadInputs()
    {
        var block = Frames(EtcdctlFrames)[2].Payload;
        return new TheoryData<string, byte[], int>
        {
            { "inside the header block", [.. Frame(Http2FrameHeader.Headers, 0, 1, block[..10]), .. Frame(0, 0, 1, [1, 2])], 65536 },
            { "index 0", Frame(Http2FrameHeader.Headers, Http2FrameHeader.EndHeaders, 1, [0x80]), 65536 },
            { "more padding than payload", Frame(Http2FrameHeader.Headers, Http2FrameHeader.EndHeaders | Http2FrameHeader.Padded, 1, [9, 0x82]), 65536 },
            { "exceeds 100 bytes", Frame(Http2FrameHeader.Headers, Http2FrameHeader.EndHeaders, 1, block), 100 },
        };
    }

    [Theory]
    [MemberData(nameof(BadInputs))]
    public async Task BadInputEndsTheStreamWithABlockTheServerMustReject(string reason, byte[] frames, int maxBlock)
    {
        var input = new Pipe();
        var output = new Pipe();
        await input.Writer.WriteAsync(frames);
        using var rewriter = Rewriter(maxBlock);
        var failure = await rewriter.RunAsync(input.Reader, output.Writer).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.NotNull(failure);
        Assert.Contains(reason, failure, StringComparison.Ordinal);
        output.Writer.Complete();
        var written = await ReadAllAsync(output.Reader);
        var last = Frames(written)[^1];
        Assert.Equal(Http2FrameHeader.Headers, last.Header.Type);
        Assert.Equal([0x80], last.Payload);
        Assert.Throws<HpackException>(() => DecodeFresh(last.Payload));
    }

    [Fact]
    public void MangledInputNeverThrowsAnythingButADecodingError()
    {
        var random = new Random(4);
        for (var round = 0; round < 3000; round++)
        {
            var input = EtcdctlFrames.ToArray();
            for (var flips = random.Next(1, 6); flips > 0; flips--)
            {
                input[random.Next(input.Length)] = (byte)random.Next(256);
            }
            using var rewriter = Rewriter(4096);
            var buffer = new ReadOnlySequence<byte>(input);
            try
            {
                rewriter.Process(ref buffer, new ArrayBufferWriter<byte>());
            }
            catch (Exception e) when (e is HpackException or InvalidDataException)
            {
            }
        }
    }

    [Fact]
    public void SnifferPassesThroughWhatIsNotAPreface()
    {
        var sniffer = new Http2AuthoritySniffer(4096, 65536, 131072);
        Assert.Equal(Http2AuthoritySniffer.Verdict.PassThrough, sniffer.Inspect(new ReadOnlySequence<byte>("GET / HTTP/1.1\r\n"u8.ToArray()), 0));
    }

    [Fact]
    public void SnifferReleasesFramesBeforeTheFirstBlockAndDecidesOnIt()
    {
        var sniffer = new Http2AuthoritySniffer(4096, 65536, 131072);
        var all = Preface.Concat(EtcdctlFrames).ToArray();
        Assert.Equal(Http2AuthoritySniffer.Verdict.NeedMore, sniffer.Inspect(new ReadOnlySequence<byte>(all[..10]), 0));
        Assert.Equal(0, sniffer.Boundary);
        // Preface, both SETTINGS frames and half of the HEADERS frame: all but the HEADERS frame may go.
        Assert.Equal(Http2AuthoritySniffer.Verdict.NeedMore, sniffer.Inspect(new ReadOnlySequence<byte>(all[..100]), 0));
        Assert.Equal(24 + 9 + 9, sniffer.Boundary);
        // The server consumed the first 30 bytes meanwhile.
        Assert.Equal(Http2AuthoritySniffer.Verdict.Rewrite, sniffer.Inspect(new ReadOnlySequence<byte>(all[30..]), 30));
        Assert.Equal(24 + 9 + 9, sniffer.Boundary);
    }

    [Fact]
    public void SnifferPassesThroughAnAuthorityWithoutScheme()
    {
        var block = Hex("8386") .Concat(new byte[] { 0x01, 14 }).Concat("127.0.0.1:2379"u8.ToArray()).ToArray();
        var stream = Preface.Concat(Frame(4, 0, 0, [])).Concat(Frame(Http2FrameHeader.Headers, Http2FrameHeader.EndHeaders, 1, block)).ToArray();
        var sniffer = new Http2AuthoritySniffer(4096, 65536, 131072);
        Assert.Equal(Http2AuthoritySniffer.Verdict.PassThrough, sniffer.Inspect(new ReadOnlySequence<byte>(stream), 0));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ReaderHandsOverSettingsBeforeTheRequestAndRewritesOnlyWhenNeeded(bool withScheme)
    {
        var frames = EtcdctlFrames;
        if (!withScheme)
        {
            var block = Hex("8386").Concat(new byte[] { 0x01, 14 }).Concat("127.0.0.1:2379"u8.ToArray()).ToArray();
            frames = [.. frames[..18], .. Frame(Http2FrameHeader.Headers, Http2FrameHeader.EndHeaders, 1, block), .. frames[^14..]];
        }
        var transport = new Pipe();
        var reader = new Http2AuthorityReader(transport.Reader, 4096, NullLogger.Instance, "test");
        var received = new List<byte>();
        async Task<int> ReceiveAtLeastAsync(int count)
        {
            while (received.Count < count)
            {
                var result = await reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
                received.AddRange(result.Buffer.ToArray());
                reader.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted)
                {
                    break;
                }
            }
            return received.Count;
        }

        // A grpc-go client waits for the server's SETTINGS before its first request: what came so far must get through.
        await transport.Writer.WriteAsync(Preface.Concat(frames[..18]).ToArray());
        Assert.Equal(24 + 18, await ReceiveAtLeastAsync(24 + 18));
        await transport.Writer.WriteAsync(frames[18..40]);
        await transport.Writer.WriteAsync(frames[40..]);
        await transport.Writer.CompleteAsync();
        await ReceiveAtLeastAsync(int.MaxValue);
        reader.Complete();
        await reader.Stopped.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(withScheme, reader.IsRewriting);
        var expected = Preface.Concat(withScheme ? Rewrite(frames, frames.Length) : frames).ToArray();
        Assert.Equal(expected, received.ToArray());
    }

    private static async Task<byte[]> ReadAllAsync(PipeReader reader)
    {
        var bytes = new List<byte>();
        while (true)
        {
            var result = await reader.ReadAsync();
            bytes.AddRange(result.Buffer.ToArray());
            reader.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted)
            {
                return [.. bytes];
            }
        }
    }
}
