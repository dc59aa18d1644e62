using System.Buffers;
using System.IO.Pipelines;

namespace Cairn.Grpc;

/// <summary>
/// Rewrites the client-to-server frames of one HTTP/2 connection (after the preface) so that no request carries an
/// <c>:authority</c> with a scheme: etcdctl 3.4's <c>endpoint status --cluster</c> dials member URLs with grpc-go,
/// which then sends <c>:authority: http://host:port</c>, and Kestrel resets such a stream (it checks :authority as
/// a Host, with no option to relax it). Every header block (HEADERS + CONTINUATION) is decoded with the
/// connection's HPACK state and re-encoded as plain literals (no dynamic table, so the server's decoder stays in
/// step whatever the client indexed), with the authority cut to <c>host:port</c>; padding is dropped, priority
/// fields kept, and the block split again into frames of at most 16 384 bytes, which every server accepts. Other
/// frames are copied as they come, without waiting for whole payloads.
/// </summary>
/// <remarks>
/// Bad input (an undecodable block, bad padding, a frame inside a header block, a block over the limit) ends the
/// rewrite: the rewriter hands the server one HEADERS frame whose block it must reject (index 0, RFC 7541 6.1), so
/// the server answers with a connection error (GOAWAY) as it would have for the original, and then ends the stream.
/// </remarks>
internal sealed class Http2AuthorityRewriter : IDisposable
{
    private static readonly byte[] HttpScheme = "http://"u8.ToArray();
    private static readonly byte[] HttpsScheme = "https://"u8.ToArray();
    private static readonly byte[] AuthorityName = ":authority"u8.ToArray();

    private readonly HpackDecoder _decoder;
    private readonly int _maxHeaderBlockBytes;
    private readonly List<HeaderField> _fields = [];
    private readonly byte[] _priority = new byte[Http2FrameHeader.PriorityFieldsSize];
    private byte[]? _block;
    private int _blockLength;
    private bool _inBlock;
    private int _blockStream;
    private byte _blockFlags;
    private long _copyRemaining;

    /// <summary>Creates a rewriter for one connection.</summary>
    /// <param name="headerTableSize">The server's SETTINGS_HEADER_TABLE_SIZE (the client's encoder table may grow to it).</param>
    /// <param name="maxHeaderBlockBytes">Largest encoded header block accepted (over it: connection error).</param>
    /// <param name="maxHeaderListBytes">Largest decoded header list accepted, counted as RFC 7541 4.1 does.</param>
    public Http2AuthorityRewriter(int headerTableSize, int maxHeaderBlockBytes, int maxHeaderListBytes)
    {
        _decoder = new HpackDecoder(headerTableSize, maxHeaderListBytes);
        _maxHeaderBlockBytes = maxHeaderBlockBytes;
    }

    /// <summary>Header blocks rewritten so far.</summary>
    public long BlocksRewritten { get; private set; }

    /// <summary>
    /// Copies frames from <paramref name="input"/> (positioned at a frame boundary after the preface) to
    /// <paramref name="output"/>, rewriting header blocks, until the input ends, is cancelled, or the output's
    /// reader is gone. Returns null, or the reason the connection was cut for bad input. Completes neither pipe.
    /// </summary>
    public async Task<string?> RunAsync(PipeReader input, PipeWriter output, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            var result = await input.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            string? failure = null;
            try
            {
                Process(ref buffer, output);
            }
            catch (Exception e) when (e is HpackException or InvalidDataException)
            {
                failure = e.Message;
                WriteRejectedBlock(output, _blockStream);
            }
            input.AdvanceTo(buffer.Start, result.Buffer.End);
            var flush = await output.FlushAsync(cancellationToken).ConfigureAwait(false);
            if (failure != null || flush.IsCompleted || result.IsCompleted || result.IsCanceled)
            {
                return failure;
            }
        }
    }

    /// <summary>
    /// Consumes from <paramref name="buffer"/> every whole frame (and the available part of a copied frame's payload),
    /// writing the result to <paramref name="output"/>; what is left needs more input.
    /// </summary>
    public void Process(ref ReadOnlySequence<byte> buffer, IBufferWriter<byte> output)
    {
        while (true)
        {
            if (_copyRemaining > 0)
            {
                if (buffer.IsEmpty)
                {
                    return;
                }
                var chunk = buffer.Slice(0, Math.Min(_copyRemaining, buffer.Length));
                foreach (var segment in chunk)
                {
                    output.Write(segment.Span);
                }
                _copyRemaining -= chunk.Length;
                buffer = buffer.Slice(chunk.End);
                continue;
            }
            if (buffer.Length < Http2FrameHeader.Size)
            {
                return;
            }
            var header = Http2FrameHeader.Read(buffer);
            if (_inBlock && (header.Type != Http2FrameHeader.Continuation || header.StreamId != _blockStream))
            {
                // RFC 9113 6.10: nothing may come between the frames of a header block.
                throw new InvalidDataException($"frame type {header.Type} of stream {header.StreamId} inside the header block of stream {_blockStream}");
            }
            var isBlockFrame = header.Type == Http2FrameHeader.Headers || (_inBlock && header.Type == Http2FrameHeader.Continuation);
            if (!isBlockFrame)
            {
                // Anything else, including a stray CONTINUATION, goes through as is (the server judges it).
                buffer.Slice(0, Http2FrameHeader.Size).CopyTo(output.GetSpan(Http2FrameHeader.Size));
                output.Advance(Http2FrameHeader.Size);
                _copyRemaining = header.Length;
                buffer = buffer.Slice(Http2FrameHeader.Size);
                continue;
            }
            if (header.Length > _maxHeaderBlockBytes - _blockLength)
            {
                _blockStream = header.StreamId;
                throw new InvalidDataException($"header block of stream {header.StreamId} exceeds {_maxHeaderBlockBytes} bytes");
            }
            if (buffer.Length < Http2FrameHeader.Size + header.Length)
            {
                return;
            }
            AddFragment(header, buffer.Slice(Http2FrameHeader.Size, header.Length));
            buffer = buffer.Slice(Http2FrameHeader.Size + header.Length);
            if (header.Has(Http2FrameHeader.EndHeaders))
            {
                EmitBlock(output);
            }
        }
    }

    /// <summary>Whether <paramref name="fields"/> hold an :authority that starts with http:// or https://.</summary>
    public static bool HasAuthorityWithScheme(List<HeaderField> fields)
    {
        foreach (var field in fields)
        {
            if (IsAuthority(field) && SchemeLength(field.Value) > 0)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>Cuts every :authority of the form scheme://host:port[/...] down to host:port.</summary>
    public static void FixAuthority(List<HeaderField> fields)
    {
        for (var i = 0; i < fields.Count; i++)
        {
            var field = fields[i];
            var scheme = SchemeLength(field.Value);
            if (!IsAuthority(field) || scheme == 0)
            {
                continue;
            }
            var rest = field.Value.AsSpan(scheme);
            var slash = rest.IndexOf((byte)'/');
            var hostPort = slash < 0 ? rest : rest[..slash];
            if (!hostPort.IsEmpty)
            {
                fields[i] = field with { Value = hostPort.ToArray() };
            }
        }
    }

    /// <summary>Returns the pooled block buffer.</summary>
    public void Dispose()
    {
        if (_block != null)
        {
            ArrayPool<byte>.Shared.Return(_block);
            _block = null;
        }
    }

    private static bool IsAuthority(HeaderField field) => field.Name.AsSpan().SequenceEqual(AuthorityName);

    private static int SchemeLength(ReadOnlySpan<byte> value) =>
        StartsWithIgnoreCase(value, HttpScheme) ? HttpScheme.Length : StartsWithIgnoreCase(value, HttpsScheme) ? HttpsScheme.Length : 0;

    private static bool StartsWithIgnoreCase(ReadOnlySpan<byte> value, ReadOnlySpan<byte> lowerPrefix)
    {
        if (value.Length < lowerPrefix.Length)
        {
            return false;
        }
        for (var i = 0; i < lowerPrefix.Length; i++)
        {
            // ASCII letters only differ in bit 0x20; the prefixes' other characters (':' '/') have it set already.
            if ((value[i] | 0x20) != lowerPrefix[i])
            {
                return false;
            }
        }
        return true;
    }

    private void AddFragment(Http2FrameHeader header, ReadOnlySequence<byte> payload)
    {
        if (header.Type == Http2FrameHeader.Headers)
        {
            _inBlock = true;
            _blockStream = header.StreamId;
            _blockFlags = (byte)(header.Flags & (Http2FrameHeader.EndStream | Http2FrameHeader.Priority));
            _blockLength = 0;
        }
        var fragment = header.Fragment(payload, _priority);
        _block ??= ArrayPool<byte>.Shared.Rent(_maxHeaderBlockBytes);
        fragment.CopyTo(_block.AsSpan(_blockLength));
        _blockLength += (int)fragment.Length;
    }

    private void EmitBlock(IBufferWriter<byte> output)
    {
        _fields.Clear();
        _decoder.Decode(_block.AsSpan(0, _blockLength), _fields);
        FixAuthority(_fields);
        var hasPriority = (_blockFlags & Http2FrameHeader.Priority) != 0;
        var prefix = hasPriority ? Http2FrameHeader.PriorityFieldsSize : 0;
        var length = prefix + HpackLiteralEncoder.EncodedLength(_fields);
        var encoded = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            _priority.AsSpan(0, prefix).CopyTo(encoded);
            HpackLiteralEncoder.Encode(_fields, encoded.AsSpan(prefix));
            WriteFrames(output, encoded.AsSpan(0, length), _blockStream, _blockFlags);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(encoded);
        }
        _inBlock = false;
        _blockLength = 0;
        BlocksRewritten++;
    }

    /// <summary>A HEADERS frame with <paramref name="flags"/>, then CONTINUATION frames, END_HEADERS on the last.</summary>
    private static void WriteFrames(IBufferWriter<byte> output, ReadOnlySpan<byte> payload, int streamId, byte flags)
    {
        var type = Http2FrameHeader.Headers;
        do
        {
            var chunk = payload[..Math.Min(payload.Length, Http2FrameHeader.MinMaxFrameSize)];
            payload = payload[chunk.Length..];
            var last = payload.IsEmpty;
            var span = output.GetSpan(Http2FrameHeader.Size + chunk.Length);
            new Http2FrameHeader(chunk.Length, type, (byte)(flags | (last ? Http2FrameHeader.EndHeaders : 0)), streamId).Write(span);
            chunk.CopyTo(span[Http2FrameHeader.Size..]);
            output.Advance(Http2FrameHeader.Size + chunk.Length);
            type = Http2FrameHeader.Continuation;
            flags = 0;
        }
        while (!payload.IsEmpty);
    }

    private static void WriteRejectedBlock(IBufferWriter<byte> output, int streamId)
    {
        // Index 0 is never valid (RFC 7541 6.1), so the server's decoder fails: COMPRESSION_ERROR for the connection.
        ReadOnlySpan<byte> invalidBlock = [0x80];
        WriteFrames(output, invalidBlock, streamId, Http2FrameHeader.EndStream);
    }
}
