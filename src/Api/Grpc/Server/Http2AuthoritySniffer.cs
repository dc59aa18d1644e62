using System.Buffers;

namespace Cairn.Grpc;

/// <summary>
/// Decides, from the start of a client-to-server HTTP/2 byte stream, whether the connection needs its
/// <c>:authority</c> rewritten (<see cref="Http2AuthorityRewriter"/>): it follows the preface and the frames up to
/// the first header block, decodes that block, and says <see cref="Verdict.Rewrite"/> when its authority has a
/// scheme. Anything unexpected (no preface, an undecodable or oversized first block) is
/// <see cref="Verdict.PassThrough"/>: the server then judges the bytes itself, exactly as without the sniffer.
/// </summary>
internal sealed class Http2AuthoritySniffer(int headerTableSize, int maxHeaderBlockBytes, int maxHeaderListBytes)
{
    /// <summary>The outcome of <see cref="Inspect"/>.</summary>
    public enum Verdict
    {
        /// <summary>Undecided: bytes before <see cref="Boundary"/> may go to the server, the rest must wait for more.</summary>
        NeedMore,

        /// <summary>Leave the connection alone from here on.</summary>
        PassThrough,

        /// <summary>Rewrite the header blocks, starting with the HEADERS frame at <see cref="Boundary"/>.</summary>
        Rewrite,
    }

    /// <summary>
    /// Stream offset up to which the bytes are known to be safe to deliver unchanged: the end of the preface and of
    /// every frame before the first HEADERS frame (possibly beyond the bytes received so far).
    /// </summary>
    public long Boundary { get; private set; }

    /// <summary>Inspects <paramref name="buffer"/>, the unconsumed bytes starting at stream offset <paramref name="bufferOffset"/>.</summary>
    public Verdict Inspect(in ReadOnlySequence<byte> buffer, long bufferOffset)
    {
        var preface = Http2FrameHeader.ClientPreface;
        if (Boundary < preface.Length)
        {
            // Nothing is delivered before the whole preface, so the buffer still starts at offset 0.
            var length = (int)Math.Min(buffer.Length, preface.Length);
            Span<byte> start = stackalloc byte[length];
            buffer.Slice(0, length).CopyTo(start);
            if (!start.SequenceEqual(preface[..length]))
            {
                return Verdict.PassThrough;
            }
            if (length < preface.Length)
            {
                return Verdict.NeedMore;
            }
            Boundary = preface.Length;
        }
        while (true)
        {
            var at = Boundary - bufferOffset;
            if (buffer.Length - at < Http2FrameHeader.Size)
            {
                return Verdict.NeedMore;
            }
            var rest = buffer.Slice(at);
            var header = Http2FrameHeader.Read(rest);
            if (header.Type == Http2FrameHeader.Headers)
            {
                return InspectFirstBlock(rest);
            }
            Boundary += Http2FrameHeader.Size + header.Length;
        }
    }

    private Verdict InspectFirstBlock(ReadOnlySequence<byte> frames)
    {
        var fragments = new ArrayBufferWriter<byte>();
        Span<byte> priority = stackalloc byte[Http2FrameHeader.PriorityFieldsSize];
        var first = Http2FrameHeader.Read(frames);
        long position = 0;
        while (true)
        {
            if (frames.Length - position < Http2FrameHeader.Size)
            {
                return Verdict.NeedMore;
            }
            var header = Http2FrameHeader.Read(frames.Slice(position));
            if (position > 0 && (header.Type != Http2FrameHeader.Continuation || header.StreamId != first.StreamId))
            {
                return Verdict.PassThrough;
            }
            if (fragments.WrittenCount + header.Length > maxHeaderBlockBytes)
            {
                return Verdict.PassThrough;
            }
            if (frames.Length - position - Http2FrameHeader.Size < header.Length)
            {
                return Verdict.NeedMore;
            }
            try
            {
                var fragment = header.Fragment(frames.Slice(position + Http2FrameHeader.Size, header.Length), priority);
                fragment.CopyTo(fragments.GetSpan((int)fragment.Length));
                fragments.Advance((int)fragment.Length);
            }
            catch (InvalidDataException)
            {
                return Verdict.PassThrough;
            }
            position += Http2FrameHeader.Size + header.Length;
            if (header.Has(Http2FrameHeader.EndHeaders))
            {
                break;
            }
        }
        var fields = new List<HeaderField>();
        try
        {
            new HpackDecoder(headerTableSize, maxHeaderListBytes).Decode(fragments.WrittenSpan, fields);
        }
        catch (HpackException)
        {
            return Verdict.PassThrough;
        }
        return Http2AuthorityRewriter.HasAuthorityWithScheme(fields) ? Verdict.Rewrite : Verdict.PassThrough;
    }
}
