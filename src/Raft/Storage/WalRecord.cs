using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace Cairn.Raft.Storage;

/// <summary>What a WAL record holds. Zero is deliberately not a type: a zero header is unwritten space.</summary>
internal enum WalRecordType : byte
{
    /// <summary>First record of every segment: magic, version, sequence number, first index.</summary>
    SegmentHeader = 1,
    /// <summary>One log <see cref="Entry"/>.</summary>
    Entry = 2,
    /// <summary>A <see cref="HardState"/>; the last one wins.</summary>
    HardState = 3,
    /// <summary>The index and term of a snapshot that is durable elsewhere; entries up to it are dropped.</summary>
    SnapshotMarker = 4,
}

/// <summary>Outcome of decoding the frame at one offset.</summary>
internal enum WalFrameStatus
{
    /// <summary>A complete frame with a good checksum.</summary>
    Ok,
    /// <summary>Eight zero bytes where a header should be: unwritten (preallocated) space, or zeroed damage.</summary>
    Zero,
    /// <summary>The header claims a frame that runs past the end of the data.</summary>
    Truncated,
    /// <summary>Unknown type, non-zero reserved bytes or an absurd length.</summary>
    BadHeader,
    /// <summary>The checksum does not match the length, type and payload.</summary>
    BadChecksum,
    /// <summary>The padding after the payload is not zero.</summary>
    BadPadding,
}

/// <summary>
/// Encoding and decoding of WAL record frames. Every frame is 8-byte aligned and self-checking:
/// <code>
///  0      4      5        8        12            12+n        (padded to a multiple of 8)
///  | len  | type | 0 0 0  | crc32c | payload (n) | 0-padding |
/// </code>
/// <c>len</c> is the payload length n (little-endian u32); <c>crc32c</c> covers bytes [0, 8) — so length
/// and type are protected too — followed by the payload. Padding is not in the checksum but must be zero.
/// Worked example: entry (index 5, term 2, Normal, data "hi") has a 19-byte payload
/// (u64 index, u64 term, u8 type, data) so the frame is 12 + 19 = 31 bytes, padded to 32:
/// <c>13 00 00 00 | 02 | 00 00 00 | crc | 05 00.. | 02 00.. | 00 | 68 69 | 00</c>.
/// Alignment means a resynchronising scan after damage (see <see cref="WalSegmentScanner"/>) only
/// tries every eighth offset, and payload bytes are rarely mistaken for a frame.
/// Other payloads: hard state = u64 term, u64 vote, u64 commit; snapshot marker = u64 index, u64 term;
/// segment header = u32 magic "CWAL", u16 version, u16 0, u64 sequence, u64 first index.
/// </summary>
internal static class WalRecord
{
    /// <summary>Bytes before the payload.</summary>
    public const int HeaderSize = 12;
    /// <summary>Every frame starts at a multiple of this.</summary>
    public const int Alignment = 8;
    /// <summary>Largest payload accepted; larger claimed lengths are damage, not data.</summary>
    public const int MaxPayload = 512 * 1024 * 1024;
    /// <summary>Entry payload bytes before the entry's data.</summary>
    public const int EntryPrefix = 17;
    /// <summary>Hard state payload size.</summary>
    public const int HardStateSize = 24;
    /// <summary>Snapshot marker payload size.</summary>
    public const int SnapshotMarkerSize = 16;
    /// <summary>Segment header payload size.</summary>
    public const int SegmentHeaderSize = 24;
    /// <summary>"CWAL" little-endian.</summary>
    public const uint Magic = 0x4C415743;
    /// <summary>Format version written into every segment header.</summary>
    public const ushort Version = 1;

    /// <summary>Total frame size for a payload of <paramref name="payloadLength"/> bytes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int FrameSize(int payloadLength) => (HeaderSize + payloadLength + (Alignment - 1)) & ~(Alignment - 1);

    /// <summary>Frame size of an entry record.</summary>
    public static int EntryFrameSize(in Entry e) => FrameSize(EntryPrefix + e.Data.Length);

    /// <summary>
    /// Writes the header, lets the caller's payload (already at <c>frame[12..]</c>) be checksummed,
    /// and zeroes padding. Returns the frame size.
    /// </summary>
    private static int Seal(Span<byte> frame, WalRecordType type, int payloadLength)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(frame, (uint)payloadLength);
        frame[4] = (byte)type;
        frame[5] = 0; frame[6] = 0; frame[7] = 0;
        uint crc = Crc32C.Update(Crc32C.Start, frame[..8]);
        crc = Crc32C.Finish(Crc32C.Update(crc, frame.Slice(HeaderSize, payloadLength)));
        BinaryPrimitives.WriteUInt32LittleEndian(frame[8..], crc);
        int size = FrameSize(payloadLength);
        frame[(HeaderSize + payloadLength)..size].Clear();
        return size;
    }

    /// <summary>Encodes an entry frame into <paramref name="dest"/>; returns bytes written.</summary>
    public static int WriteEntry(Span<byte> dest, in Entry e)
    {
        Span<byte> p = dest[HeaderSize..];
        BinaryPrimitives.WriteUInt64LittleEndian(p, e.Index);
        BinaryPrimitives.WriteUInt64LittleEndian(p[8..], e.Term);
        p[16] = (byte)e.Type;
        e.Data.Span.CopyTo(p[EntryPrefix..]);
        return Seal(dest, WalRecordType.Entry, EntryPrefix + e.Data.Length);
    }

    /// <summary>Encodes a hard state frame; returns bytes written.</summary>
    public static int WriteHardState(Span<byte> dest, in HardState hs)
    {
        Span<byte> p = dest[HeaderSize..];
        BinaryPrimitives.WriteUInt64LittleEndian(p, hs.Term);
        BinaryPrimitives.WriteUInt64LittleEndian(p[8..], hs.Vote);
        BinaryPrimitives.WriteUInt64LittleEndian(p[16..], hs.Commit);
        return Seal(dest, WalRecordType.HardState, HardStateSize);
    }

    /// <summary>Encodes a snapshot marker frame; returns bytes written.</summary>
    public static int WriteSnapshotMarker(Span<byte> dest, ulong index, ulong term)
    {
        Span<byte> p = dest[HeaderSize..];
        BinaryPrimitives.WriteUInt64LittleEndian(p, index);
        BinaryPrimitives.WriteUInt64LittleEndian(p[8..], term);
        return Seal(dest, WalRecordType.SnapshotMarker, SnapshotMarkerSize);
    }

    /// <summary>Encodes a segment header frame; returns bytes written.</summary>
    public static int WriteSegmentHeader(Span<byte> dest, ulong sequence, ulong firstIndex)
    {
        Span<byte> p = dest[HeaderSize..];
        BinaryPrimitives.WriteUInt32LittleEndian(p, Magic);
        BinaryPrimitives.WriteUInt16LittleEndian(p[4..], Version);
        BinaryPrimitives.WriteUInt16LittleEndian(p[6..], 0);
        BinaryPrimitives.WriteUInt64LittleEndian(p[8..], sequence);
        BinaryPrimitives.WriteUInt64LittleEndian(p[16..], firstIndex);
        return Seal(dest, WalRecordType.SegmentHeader, SegmentHeaderSize);
    }

    /// <summary>
    /// Decodes the frame at the start of <paramref name="data"/>. On <see cref="WalFrameStatus.Ok"/>,
    /// <paramref name="payloadLength"/> and <paramref name="frameSize"/> describe it.
    /// </summary>
    public static WalFrameStatus TryDecode(ReadOnlySpan<byte> data, out WalRecordType type, out int payloadLength, out int frameSize)
    {
        type = 0; payloadLength = 0; frameSize = 0;
        if (data.Length < 8)
            return data.IndexOfAnyExcept((byte)0) < 0 ? WalFrameStatus.Zero : WalFrameStatus.Truncated;
        ulong head = BinaryPrimitives.ReadUInt64LittleEndian(data);
        if (head == 0) return WalFrameStatus.Zero;
        uint len = (uint)head;
        byte t = data[4];
        if (t is < (byte)WalRecordType.SegmentHeader or > (byte)WalRecordType.SnapshotMarker
            || (head >> 40) != 0 || len > MaxPayload)
            return WalFrameStatus.BadHeader;
        int size = FrameSize((int)len);
        if (size > data.Length) return WalFrameStatus.Truncated;
        uint crc = Crc32C.Update(Crc32C.Start, data[..8]);
        crc = Crc32C.Finish(Crc32C.Update(crc, data.Slice(HeaderSize, (int)len)));
        if (crc != BinaryPrimitives.ReadUInt32LittleEndian(data[8..])) return WalFrameStatus.BadChecksum;
        if (data[(HeaderSize + (int)len)..size].IndexOfAnyExcept((byte)0) >= 0) return WalFrameStatus.BadPadding;
        type = (WalRecordType)t;
        payloadLength = (int)len;
        frameSize = size;
        return WalFrameStatus.Ok;
    }
}
