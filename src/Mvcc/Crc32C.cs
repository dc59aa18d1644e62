using System.Buffers.Binary;
using System.Numerics;

namespace Cairn.Mvcc;

/// <summary>
/// CRC-32C (Castagnoli), the checksum etcd's HashKV uses (Go's crc32.MakeTable(crc32.Castagnoli)).
/// <see cref="BitOperations.Crc32C(uint, ulong)"/> uses the SSE4.2/ARM instruction when present.
/// </summary>
internal static class Crc32C
{
    /// <summary>Starting state; pass to <see cref="Append"/>, finish with <see cref="Finish"/>.</summary>
    public const uint Initial = 0xFFFFFFFFu;

    /// <summary>Folds <paramref name="data"/> into the running (un-inverted) state.</summary>
    public static uint Append(uint state, ReadOnlySpan<byte> data)
    {
        while (data.Length >= 8)
        {
            state = BitOperations.Crc32C(state, BinaryPrimitives.ReadUInt64LittleEndian(data));
            data = data[8..];
        }
        foreach (byte b in data)
        {
            state = BitOperations.Crc32C(state, b);
        }
        return state;
    }

    /// <summary>The checksum of a running state.</summary>
    public static uint Finish(uint state) => ~state;

    /// <summary>One-shot checksum.</summary>
    public static uint Compute(ReadOnlySpan<byte> data) => Finish(Append(Initial, data));
}
