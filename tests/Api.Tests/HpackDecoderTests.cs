using System.Text;
using Cairn.Grpc;

namespace Cairn.Api.Tests;

/// <summary>The HPACK decoder against RFC 7541 Appendix C (with and without Huffman) and against bad blocks.</summary>
public class HpackDecoderTests
{
    internal static byte[] Hex(string hex) => Convert.FromHexString(hex.Replace(" ", "", StringComparison.Ordinal));

    internal static string[] Decode(HpackDecoder decoder, byte[] block)
    {
        var fields = new List<HeaderField>();
        decoder.Decode(block, fields);
        return [.. fields.Select(Text)];
    }

    internal static string Text(HeaderField f) => $"{Encoding.ASCII.GetString(f.Name)}: {Encoding.ASCII.GetString(f.Value)}";

    private static string[] Table(HpackDecoder decoder) => [.. Enumerable.Range(0, decoder.Table.Count).Select(i => Text(decoder.Table.Get(i)))];

    [Fact]
    public void C2_1_LiteralWithIndexing()
    {
        var decoder = new HpackDecoder(4096, 65536);
        Assert.Equal(["custom-key: custom-header"], Decode(decoder, Hex("400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572")));
        Assert.Equal(["custom-key: custom-header"], Table(decoder));
        Assert.Equal(55, decoder.Table.Size);
    }

    [Fact]
    public void C2_2_LiteralWithoutIndexing()
    {
        var decoder = new HpackDecoder(4096, 65536);
        Assert.Equal([":path: /sample/path"], Decode(decoder, Hex("040c 2f73 616d 706c 652f 7061 7468")));
        Assert.Equal(0, decoder.Table.Count);
    }

    [Fact]
    public void C2_3_NeverIndexedIsKept()
    {
        var decoder = new HpackDecoder(4096, 65536);
        var fields = new List<HeaderField>();
        decoder.Decode(Hex("1008 7061 7373 776f 7264 0673 6563 7265 74"), fields);
        Assert.Equal("password: secret", Text(Assert.Single(fields)));
        Assert.True(fields[0].NeverIndexed);
        Assert.Equal(0, decoder.Table.Count);
    }

    [Fact]
    public void C2_4_Indexed()
    {
        Assert.Equal([":method: GET"], Decode(new HpackDecoder(4096, 65536), Hex("82")));
    }

    private static readonly string[][] Requests =
    [
        [":method: GET", ":scheme: http", ":path: /", ":authority: www.example.com"],
        [":method: GET", ":scheme: http", ":path: /", ":authority: www.example.com", "cache-control: no-cache"],
        [":method: GET", ":scheme: https", ":path: /index.html", ":authority: www.example.com", "custom-key: custom-value"],
    ];

    [Theory]
    [InlineData(false, "8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d", "8286 84be 5808 6e6f 2d63 6163 6865",
        "8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65")]
    [InlineData(true, "8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff", "8286 84be 5886 a8eb 1064 9cbf",
        "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf")]
    public void C3_C4_RequestsShareTheDynamicTable(bool huffman, string first, string second, string third)
    {
        _ = huffman;
        var decoder = new HpackDecoder(4096, 65536);
        Assert.Equal(Requests[0], Decode(decoder, Hex(first)));
        Assert.Equal(57, decoder.Table.Size);
        Assert.Equal(Requests[1], Decode(decoder, Hex(second)));
        Assert.Equal(["cache-control: no-cache", ":authority: www.example.com"], Table(decoder));
        Assert.Equal(110, decoder.Table.Size);
        Assert.Equal(Requests[2], Decode(decoder, Hex(third)));
        Assert.Equal(["custom-key: custom-value", "cache-control: no-cache", ":authority: www.example.com"], Table(decoder));
        Assert.Equal(164, decoder.Table.Size);
    }

    [Theory]
    [InlineData(false,
        "4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
        "4803 3330 37c1 c0bf",
        "88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d 54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049 5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e 3d31")]
    [InlineData(true,
        "4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3",
        "4883 640e ffc1 c0bf",
        "88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab 77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07")]
    public void C5_C6_ResponsesEvictFromA256ByteTable(bool huffman, string first, string second, string third)
    {
        _ = huffman;
        const string date1 = "date: Mon, 21 Oct 2013 20:13:21 GMT";
        const string date2 = "date: Mon, 21 Oct 2013 20:13:22 GMT";
        const string location = "location: https://www.example.com";
        const string cookie = "set-cookie: foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1";
        var decoder = new HpackDecoder(256, 65536);
        Assert.Equal([":status: 302", "cache-control: private", date1, location], Decode(decoder, Hex(first)));
        Assert.Equal([location, date1, "cache-control: private", ":status: 302"], Table(decoder));
        Assert.Equal(222, decoder.Table.Size);
        Assert.Equal([":status: 307", "cache-control: private", date1, location], Decode(decoder, Hex(second)));
        Assert.Equal([":status: 307", location, date1, "cache-control: private"], Table(decoder));
        Assert.Equal(222, decoder.Table.Size);
        Assert.Equal([":status: 200", "cache-control: private", date2, location, "content-encoding: gzip", cookie], Decode(decoder, Hex(third)));
        Assert.Equal([cookie, "content-encoding: gzip", date2], Table(decoder));
        Assert.Equal(215, decoder.Table.Size);
    }

    [Fact]
    public void HuffmanCodesMatchAppendixB()
    {
        Assert.Equal((0x1ff8u, 13), HpackHuffman.CodeOf(0));
        Assert.Equal((0x3u, 5), HpackHuffman.CodeOf('a'));
        Assert.Equal((0x5fu, 7), HpackHuffman.CodeOf('D'));
        Assert.Equal((0x7fffff0u, 27), HpackHuffman.CodeOf(254));
        Assert.Equal((0x3fffffffu, 30), HpackHuffman.CodeOf(HpackHuffman.Eos));
    }

    [Fact]
    public void HuffmanRejectsBadPaddingAndEos()
    {
        // 'a' is 00011; padded with 111 it is valid, with 000 (not the EOS prefix) it is not.
        Assert.Equal("a"u8.ToArray(), HpackHuffman.Decode([0x1f]));
        Assert.Throws<HpackException>(() => HpackHuffman.Decode([0x18]));
        // A whole byte of 1s after the last symbol: padding longer than 7 bits.
        Assert.Throws<HpackException>(() => HpackHuffman.Decode([0x1f, 0xff]));
        // EOS (30 ones) explicitly encoded.
        Assert.Throws<HpackException>(() => HpackHuffman.Decode([0xff, 0xff, 0xff, 0xff]));
    }

    [Theory]
    [InlineData("80", "index 0")]
    [InlineData("be", "beyond")] // 62: the first dynamic index, with an empty table
    [InlineData("8220", "after a header field")] // a size update after a field
    [InlineData("3fe21f", "exceeds")] // size update to 4097 + ... above 4096
    [InlineData("0f", "ends inside an integer")]
    [InlineData("4005 6162", "longer than the rest")]
    [InlineData("40", "ends before a string")]
    [InlineData("0fffffffffff0f", "integer too large")]
    public void RejectsBadBlocks(string block, string message)
    {
        var e = Assert.Throws<HpackException>(() => Decode(new HpackDecoder(4096, 65536), Hex(block)));
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SizeUpdateAtTheStartEvicts()
    {
        var decoder = new HpackDecoder(4096, 65536);
        Decode(decoder, Hex("400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572"));
        Assert.Equal(1, decoder.Table.Count);
        // 0x20: size update to 0, then an indexed field.
        Assert.Equal([":method: GET"], Decode(decoder, Hex("2082")));
        Assert.Equal(0, decoder.Table.Count);
        Assert.Throws<HpackException>(() => Decode(decoder, Hex("be")));
    }

    [Fact]
    public void HeaderListLimitIsEnforced()
    {
        // custom-key: custom-header is 55 by RFC 7541 4.1; a limit of 54 refuses it.
        var block = Hex("400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572");
        Assert.Throws<HpackException>(() => Decode(new HpackDecoder(4096, 54), block));
        Assert.Single(Decode(new HpackDecoder(4096, 55), block));
    }

    [Fact]
    public void LiteralEncoderRoundTripsWithoutTouchingTheTable()
    {
        var longValue = new string('v', 5000);
        List<HeaderField> fields =
        [
            new(":authority"u8.ToArray(), "127.0.0.1:2379"u8.ToArray()),
            new("x-long"u8.ToArray(), Encoding.ASCII.GetBytes(longValue)),
            new(new byte[127], []),
            new("secret"u8.ToArray(), "s"u8.ToArray(), NeverIndexed: true),
        ];
        var encoded = new byte[HpackLiteralEncoder.EncodedLength(fields)];
        Assert.Equal(encoded.Length, HpackLiteralEncoder.Encode(fields, encoded));
        var decoder = new HpackDecoder(4096, 1 << 20);
        var decoded = new List<HeaderField>();
        decoder.Decode(encoded, decoded);
        Assert.Equal(fields.Select(Text), decoded.Select(Text));
        Assert.Equal(fields.Select(f => f.NeverIndexed), decoded.Select(f => f.NeverIndexed));
        Assert.Equal(0, decoder.Table.Count);
    }
}
