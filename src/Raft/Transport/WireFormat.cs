using System.Buffers.Binary;
using System.Numerics;

namespace Cairn.Raft.Transport;

/// <summary>
/// Byte layout of the peer protocol. Everything multi-byte is big-endian (network order).
/// <code>
/// preamble (32 bytes): magic u32 "CRNT" | version u8 | kind u8 | reserved u16 (0) | cluster u64 | from u64 | to u64
/// handshake reply:     status u8
/// message stream:      { length u32 | payload[length] }*
/// snapshot stream:     length u32 | header[length] | { length u32 | crc32c u32 | data[length] }* | 0 u32 | 0 u32
/// snapshot reply:      result u8 | length u16 | utf-8 reason[length]
/// cluster info reply:  length u32 | answer[length], then the receiver closes
/// request stream:      length u32 | request[length]
/// request reply:       length u32 | answer[length], then the receiver closes (no frame: the handler failed)
/// </code>
/// A cluster-info preamble carries cluster 0 and to 0: the asker knows neither yet.
/// The "to" field lets the receiver refuse a connection meant for another member (a stale URL
/// now served by someone else) instead of feeding it misrouted messages.
/// </summary>
internal static class WireFormat
{
    /// <summary>"CRNT" — Cairn Raft Network Transport.</summary>
    public const uint Magic = 0x43524E54;

    public const byte Version = 1;

    public const int PreambleSize = 32;

    public const int FrameHeaderSize = 4;

    public const int ChunkHeaderSize = 8;

    /// <summary>Longest reason string carried back in a snapshot reply.</summary>
    public const int MaxReasonBytes = 1024;

    public static void WritePreamble(Span<byte> dst, ConnectionKind kind, ulong clusterId, ulong from, ulong to)
    {
        BinaryPrimitives.WriteUInt32BigEndian(dst, Magic);
        dst[4] = Version;
        dst[5] = (byte)kind;
        dst[6] = 0;
        dst[7] = 0;
        BinaryPrimitives.WriteUInt64BigEndian(dst[8..], clusterId);
        BinaryPrimitives.WriteUInt64BigEndian(dst[16..], from);
        BinaryPrimitives.WriteUInt64BigEndian(dst[24..], to);
    }

    /// <summary>Parses a preamble; false when the magic is wrong (not our protocol at all).</summary>
    public static bool TryReadPreamble(ReadOnlySpan<byte> src, out byte version, out ConnectionKind kind, out ulong clusterId, out ulong from, out ulong to)
    {
        version = src[4];
        kind = (ConnectionKind)src[5];
        clusterId = BinaryPrimitives.ReadUInt64BigEndian(src[8..]);
        from = BinaryPrimitives.ReadUInt64BigEndian(src[16..]);
        to = BinaryPrimitives.ReadUInt64BigEndian(src[24..]);
        return BinaryPrimitives.ReadUInt32BigEndian(src) == Magic;
    }

    /// <summary>
    /// CRC-32C (Castagnoli) of <paramref name="data"/>, check value 0xE3069283 for "123456789".
    /// <see cref="BitOperations.Crc32C(uint, ulong)"/> uses the SSE4.2/ARMv8 instruction when present,
    /// so checksumming snapshot chunks costs far less than copying them.
    /// </summary>
    public static uint Crc32C(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFFu;
        while (data.Length >= 8)
        {
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data));
            data = data[8..];
        }

        foreach (byte b in data)
        {
            crc = BitOperations.Crc32C(crc, b);
        }

        return ~crc;
    }

    public static string Describe(HandshakeStatus status) => status switch
    {
        HandshakeStatus.Accepted => "accepted",
        HandshakeStatus.ClusterMismatch => "cluster id mismatch",
        HandshakeStatus.WrongMember => "the peer is a different member than the one addressed",
        HandshakeStatus.UnsupportedVersion => "unsupported protocol version",
        HandshakeStatus.MemberRemoved => "this member was removed from the peer's membership",
        HandshakeStatus.SnapshotsNotAccepted => "the peer does not accept snapshots",
        HandshakeStatus.Busy => "the peer is busy (too many connections or snapshot transfers)",
        HandshakeStatus.NoClusterInfo => "the peer does not answer cluster-info requests",
        HandshakeStatus.NoRequestHandler => "the peer does not answer requests",
        _ => $"unknown status {(byte)status}",
    };
}
