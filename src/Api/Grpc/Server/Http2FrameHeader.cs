using System.Buffers;
using System.Buffers.Binary;

namespace Cairn.Grpc;

/// <summary>
/// The 9-byte HTTP/2 frame header (RFC 9113 4.1) and the parts of HEADERS/CONTINUATION frames a header-block
/// rewriter needs: flags, padding and the priority fields around the block fragment (6.2, 6.10).
/// </summary>
/// <param name="Length">Payload length (24 bits).</param>
/// <param name="Type">Frame type.</param>
/// <param name="Flags">Frame flags.</param>
/// <param name="StreamId">Stream identifier (31 bits; the reserved bit is dropped).</param>
internal readonly record struct Http2FrameHeader(int Length, byte Type, byte Flags, int StreamId)
{
    /// <summary>Bytes in a frame header.</summary>
    public const int Size = 9;

    /// <summary>The largest frame payload every HTTP/2 peer accepts (SETTINGS_MAX_FRAME_SIZE's initial value).</summary>
    public const int MinMaxFrameSize = 16_384;

    /// <summary>Frame type HEADERS.</summary>
    public const byte Headers = 0x1;

    /// <summary>Frame type CONTINUATION.</summary>
    public const byte Continuation = 0x9;

    /// <summary>Flag END_STREAM (HEADERS).</summary>
    public const byte EndStream = 0x1;

    /// <summary>Flag END_HEADERS (HEADERS, CONTINUATION).</summary>
    public const byte EndHeaders = 0x4;

    /// <summary>Flag PADDED (HEADERS).</summary>
    public const byte Padded = 0x8;

    /// <summary>Flag PRIORITY (HEADERS): 5 bytes of stream dependency and weight precede the fragment.</summary>
    public const byte Priority = 0x20;

    /// <summary>Bytes of priority fields when <see cref="Priority"/> is set.</summary>
    public const int PriorityFieldsSize = 5;

    /// <summary>The connection preface a client sends first (RFC 9113 3.4): "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".</summary>
    public static ReadOnlySpan<byte> ClientPreface => "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8;

    /// <summary>Whether this frame has <paramref name="flag"/> set.</summary>
    public bool Has(byte flag) => (Flags & flag) != 0;

    /// <summary>Reads the header at the start of <paramref name="buffer"/> (which holds at least <see cref="Size"/> bytes).</summary>
    public static Http2FrameHeader Read(in ReadOnlySequence<byte> buffer)
    {
        Span<byte> bytes = stackalloc byte[Size];
        buffer.Slice(0, Size).CopyTo(bytes);
        return new Http2FrameHeader(
            (bytes[0] << 16) | (bytes[1] << 8) | bytes[2],
            bytes[3],
            bytes[4],
            (int)(BinaryPrimitives.ReadUInt32BigEndian(bytes[5..]) & 0x7fff_ffff));
    }

    /// <summary>Writes this header into the first <see cref="Size"/> bytes of <paramref name="destination"/>.</summary>
    public void Write(Span<byte> destination)
    {
        destination[0] = (byte)(Length >> 16);
        destination[1] = (byte)(Length >> 8);
        destination[2] = (byte)Length;
        destination[3] = Type;
        destination[4] = Flags;
        BinaryPrimitives.WriteUInt32BigEndian(destination[5..], (uint)StreamId);
    }

    /// <summary>
    /// The header block fragment in <paramref name="payload"/> (this frame's whole payload): for HEADERS without the
    /// pad length, priority fields and padding; the priority fields go to <paramref name="priority"/> when present.
    /// Padding that does not fit the payload is a connection error (RFC 9113 6.2): throws <see cref="InvalidDataException"/>.
    /// </summary>
    public ReadOnlySequence<byte> Fragment(in ReadOnlySequence<byte> payload, Span<byte> priority)
    {
        if (Type != Headers)
        {
            return payload;
        }
        var offset = 0;
        var padding = 0;
        if (Has(Padded))
        {
            if (payload.Length < 1)
            {
                throw new InvalidDataException($"HEADERS frame of stream {StreamId} is PADDED but empty");
            }
            padding = payload.FirstSpan[0];
            offset = 1;
        }
        if (Has(Priority))
        {
            if (payload.Length < offset + PriorityFieldsSize)
            {
                throw new InvalidDataException($"HEADERS frame of stream {StreamId} is too short for its priority fields");
            }
            payload.Slice(offset, PriorityFieldsSize).CopyTo(priority);
            offset += PriorityFieldsSize;
        }
        if (offset + padding > payload.Length)
        {
            throw new InvalidDataException($"HEADERS frame of stream {StreamId} has more padding than payload");
        }
        return payload.Slice(offset, payload.Length - offset - padding);
    }
}
