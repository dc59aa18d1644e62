using System.Buffers.Binary;

namespace Cairn.Mvcc;

/// <summary>
/// Primitive encoding of <see cref="KvStore"/> snapshots: little-endian fixed-width integers,
/// LEB128 lengths, buffered, with a running CRC-32C of every byte written or read.
/// </summary>
/// <remarks>
/// Layout (version 1):
/// <code>
///   "CAIRNKV\0"  magic (8 bytes)
///   u32   format version (1)
///   i64   revision
///   i64   compaction revision (-1: never compacted)
///   i64   key count
///   per key, ascending byte order:
///     varint key length, key bytes
///     varint version count
///     per version, ascending revision:
///       i64 main, i32 sub, u8 kind (0 put, 1 tombstone)
///       put only: i64 create_revision, i64 version, i64 lease, varint value length, value bytes
///   u32   CRC-32C of every byte above
/// </code>
/// The event log is not stored: it is exactly the versions with main ≥ the compaction revision,
/// rebuilt in revision order on load. Everything written is a function of the store's logical
/// state, so equal stores give byte-identical snapshots.
/// </remarks>
internal static class SnapshotFormat
{
    public static ReadOnlySpan<byte> Magic => "CAIRNKV\0"u8;

    public const uint Version = 1;

    public const byte Put = 0;
    public const byte Tombstone = 1;

    internal sealed class Writer(Stream output)
    {
        private readonly byte[] _buffer = new byte[64 * 1024];
        private int _used;
        private uint _crc = Crc32C.Initial;

        public void Bytes(ReadOnlySpan<byte> data)
        {
            while (data.Length > 0)
            {
                if (_used == _buffer.Length)
                {
                    Flush();
                }
                int n = Math.Min(data.Length, _buffer.Length - _used);
                data[..n].CopyTo(_buffer.AsSpan(_used));
                _used += n;
                data = data[n..];
            }
        }

        public void U8(byte value)
        {
            Reserve(1);
            _buffer[_used++] = value;
        }

        public void U32(uint value)
        {
            Reserve(4);
            BinaryPrimitives.WriteUInt32LittleEndian(_buffer.AsSpan(_used), value);
            _used += 4;
        }

        public void I32(int value) => U32((uint)value);

        public void I64(long value)
        {
            Reserve(8);
            BinaryPrimitives.WriteInt64LittleEndian(_buffer.AsSpan(_used), value);
            _used += 8;
        }

        public void VarUInt(ulong value)
        {
            Reserve(10);
            while (value >= 0x80)
            {
                _buffer[_used++] = (byte)(value | 0x80);
                value >>= 7;
            }
            _buffer[_used++] = (byte)value;
        }

        /// <summary>Makes room for <paramref name="n"/> contiguous bytes (n ≤ buffer size).</summary>
        private void Reserve(int n)
        {
            if (_buffer.Length - _used < n)
            {
                Flush();
            }
        }

        public void Blob(ReadOnlySpan<byte> data)
        {
            VarUInt((ulong)data.Length);
            Bytes(data);
        }

        /// <summary>Writes the checksum of everything so far, then flushes.</summary>
        public void Finish()
        {
            Flush();
            Span<byte> b = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32LittleEndian(b, Crc32C.Finish(_crc));
            output.Write(b);
            output.Flush();
        }

        private void Flush()
        {
            _crc = Crc32C.Append(_crc, _buffer.AsSpan(0, _used));
            output.Write(_buffer, 0, _used);
            _used = 0;
        }
    }

    /// <summary>
    /// Reads exactly the snapshot's bytes (no read-ahead), so a snapshot embedded in a larger stream
    /// leaves it positioned just after; callers wanting speed pass a buffered stream.
    /// </summary>
    internal sealed class Reader(Stream input)
    {
        private uint _crc = Crc32C.Initial;

        public void Bytes(Span<byte> into)
        {
            try
            {
                input.ReadExactly(into);
            }
            catch (EndOfStreamException e)
            {
                throw new InvalidDataException("Corrupt snapshot: truncated.", e);
            }
            _crc = Crc32C.Append(_crc, into);
        }

        public byte U8()
        {
            Span<byte> b = stackalloc byte[1];
            Bytes(b);
            return b[0];
        }

        public uint U32()
        {
            Span<byte> b = stackalloc byte[4];
            Bytes(b);
            return BinaryPrimitives.ReadUInt32LittleEndian(b);
        }

        public int I32() => (int)U32();

        public long I64()
        {
            Span<byte> b = stackalloc byte[8];
            Bytes(b);
            return BinaryPrimitives.ReadInt64LittleEndian(b);
        }

        public ulong VarUInt()
        {
            ulong value = 0;
            for (int shift = 0; shift < 64; shift += 7)
            {
                byte b = U8();
                value |= (ulong)(b & 0x7F) << shift;
                if (b < 0x80)
                {
                    return value;
                }
            }
            throw new InvalidDataException("Corrupt snapshot: varint too long.");
        }

        public byte[] Blob(int max = 1 << 30)
        {
            ulong length = VarUInt();
            if (length > (ulong)max)
            {
                throw new InvalidDataException("Corrupt snapshot: length out of range.");
            }
            var data = new byte[length];
            Bytes(data);
            return data;
        }

        /// <summary>Reads the trailing checksum and compares it with the bytes read.</summary>
        public void VerifyChecksum()
        {
            uint expected = Crc32C.Finish(_crc);
            uint actual = U32();
            if (actual != expected)
            {
                throw new InvalidDataException($"Corrupt snapshot: checksum {actual:x8}, computed {expected:x8}.");
            }
        }
    }
}
