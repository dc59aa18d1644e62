using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace Cairn.Raft.Storage;

/// <summary>
/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of every WAL record and
/// snapshot file. Castagnoli rather than the zlib CRC-32 because x86 (SSE4.2) and ARMv8 compute it
/// in hardware, eight bytes per instruction, so checksumming is never what limits the log.
/// </summary>
/// <remarks>
/// <see cref="Update"/> takes and returns the raw register (no final inversion), so a checksum over
/// several pieces is <c>Finish(Update(Update(Start, a), b))</c>; <see cref="Compute"/> is the
/// one-piece shorthand. Check value: CRC-32C("123456789") = 0xE3069283.
/// </remarks>
internal static class Crc32C
{
    /// <summary>Initial register value.</summary>
    public const uint Start = 0xFFFFFFFFu;

    private const uint Polynomial = 0x82F63B78u;
    private static readonly uint[] Table = BuildTable();

    /// <summary>Checksum of one contiguous piece.</summary>
    public static uint Compute(ReadOnlySpan<byte> data) => Finish(Update(Start, data));

    /// <summary>Final inversion of the register.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Finish(uint crc) => ~crc;

    /// <summary>Feeds <paramref name="data"/> into the running register <paramref name="crc"/>.</summary>
    public static uint Update(uint crc, ReadOnlySpan<byte> data)
    {
        if (Sse42.X64.IsSupported)
        {
            ulong c = crc;
            while (data.Length >= 8)
            {
                c = Sse42.X64.Crc32(c, BinaryPrimitives.ReadUInt64LittleEndian(data));
                data = data[8..];
            }
            crc = (uint)c;
            foreach (byte b in data) crc = Sse42.Crc32(crc, b);
            return crc;
        }
        if (Crc32.Arm64.IsSupported)
        {
            while (data.Length >= 8)
            {
                crc = Crc32.Arm64.ComputeCrc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data));
                data = data[8..];
            }
            foreach (byte b in data) crc = Crc32.ComputeCrc32C(crc, b);
            return crc;
        }
        return UpdateSoftware(crc, data);
    }

    /// <summary>Table-driven fallback; also used by tests to cross-check the hardware path.</summary>
    internal static uint UpdateSoftware(uint crc, ReadOnlySpan<byte> data)
    {
        uint[] table = Table;
        foreach (byte b in data) crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8);
        return crc;
    }

    private static uint[] BuildTable()
    {
        var table = new uint[256];
        for (uint i = 0; i < 256; i++)
        {
            uint c = i;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? (c >> 1) ^ Polynomial : c >> 1;
            table[i] = c;
        }
        return table;
    }
}
