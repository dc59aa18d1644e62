using System.Buffers;
using System.Buffers.Binary;

namespace Cairn.Raft.Storage;

/// <summary>
/// One verified snapshot file: its index, term and metadata in memory, its data readable on demand.
/// </summary>
/// <remarks>
/// File layout (all integers little-endian):
/// <code>
///  0  u64 magic "CAIRNSNP"     8  u32 version (1)     12 u32 metadata length m
/// 16  u64 index               24  u64 term
/// 32  metadata (m bytes)
/// 32+m data (d bytes)
/// end-16  u64 d   end-8  u32 crc32c of every byte before it   end-4  u32 "SEND"
/// </code>
/// The data length lives in the trailer so data can be streamed from a source of unknown length;
/// the checksum covers header, metadata, data and the data length, so any flipped bit, and any
/// truncation (the trailer then sits in the wrong place), is caught.
/// </remarks>
public sealed class SnapshotFile
{
    internal const ulong Magic = 0x504E534E52494143; // "CAIRNSNP"
    internal const uint EndMagic = 0x444E4553; // "SEND"
    internal const uint Version = 1;
    internal const int HeaderSize = 32;
    internal const int TrailerSize = 16;

    private SnapshotFile(string path, ulong index, ulong term, byte[] metadata, long dataOffset, long dataLength)
    {
        Path = path;
        Index = index;
        Term = term;
        Metadata = metadata;
        DataOffset = dataOffset;
        DataLength = dataLength;
    }

    /// <summary>Where the file is.</summary>
    public string Path { get; }

    /// <summary>Last log index the snapshot covers.</summary>
    public ulong Index { get; }

    /// <summary>Term of the entry at <see cref="Index"/>.</summary>
    public ulong Term { get; }

    /// <summary>Opaque metadata saved with the snapshot (e.g. the encoded membership).</summary>
    public byte[] Metadata { get; }

    /// <summary>Size of the opaque data in bytes.</summary>
    public long DataLength { get; }

    internal long DataOffset { get; }

    /// <summary>
    /// Opens the data for reading. It was verified when this object was made; a later change on
    /// disk is not detected here.
    /// </summary>
    public Stream OpenData()
    {
        var fs = new FileStream(Path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        fs.Position = DataOffset;
        return new BoundedReadStream(fs, DataLength);
    }

    /// <summary>Reads all of the data into memory.</summary>
    public byte[] ReadData()
    {
        if (DataLength > Array.MaxLength) throw new InvalidOperationException("snapshot data too large for one array; use OpenData");
        var data = new byte[DataLength];
        using var fs = new FileStream(Path, FileMode.Open, FileAccess.Read, FileShare.Read, 1);
        RandomAccess.Read(fs.SafeFileHandle, data, DataOffset);
        return data;
    }

    /// <summary>Reads and verifies the file at <paramref name="path"/>.</summary>
    /// <exception cref="SnapshotCorruptException">Size, magic or checksum is wrong.</exception>
    public static SnapshotFile Load(string path)
    {
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1);
        long length = fs.Length;
        if (length < HeaderSize + TrailerSize) throw new SnapshotCorruptException(path, $"file too short ({length} bytes)");
        Span<byte> header = stackalloc byte[HeaderSize];
        Span<byte> trailer = stackalloc byte[TrailerSize];
        RandomAccess.Read(fs.SafeFileHandle, header, 0);
        RandomAccess.Read(fs.SafeFileHandle, trailer, length - TrailerSize);
        if (BinaryPrimitives.ReadUInt64LittleEndian(header) != Magic || BinaryPrimitives.ReadUInt32LittleEndian(trailer[12..]) != EndMagic)
            throw new SnapshotCorruptException(path, "bad magic (not a snapshot, or torn)");
        uint version = BinaryPrimitives.ReadUInt32LittleEndian(header[8..]);
        if (version != Version) throw new SnapshotCorruptException(path, $"unsupported version {version}");
        long metaLength = BinaryPrimitives.ReadUInt32LittleEndian(header[12..]);
        ulong dataLength = BinaryPrimitives.ReadUInt64LittleEndian(trailer);
        if (dataLength > (ulong)length || HeaderSize + metaLength + (long)dataLength + TrailerSize != length)
            throw new SnapshotCorruptException(path, "lengths do not add up to the file size");

        byte[] buffer = ArrayPool<byte>.Shared.Rent(1 << 16); // below the large-object threshold: a pooled 1 MiB array would stay on the LOH for good
        try
        {
            uint crc = Crc32C.Start;
            long covered = length - 8;
            for (long off = 0; off < covered;)
            {
                int n = RandomAccess.Read(fs.SafeFileHandle, buffer.AsSpan(0, (int)Math.Min(buffer.Length, covered - off)), off);
                if (n <= 0) throw new SnapshotCorruptException(path, "file shrank while being read");
                crc = Crc32C.Update(crc, buffer.AsSpan(0, n));
                off += n;
            }
            if (Crc32C.Finish(crc) != BinaryPrimitives.ReadUInt32LittleEndian(trailer[8..]))
                throw new SnapshotCorruptException(path, "checksum mismatch");
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        var metadata = new byte[metaLength];
        RandomAccess.Read(fs.SafeFileHandle, metadata, HeaderSize);
        return new SnapshotFile(path, BinaryPrimitives.ReadUInt64LittleEndian(header[16..]),
            BinaryPrimitives.ReadUInt64LittleEndian(header[24..]), metadata, HeaderSize + metaLength, (long)dataLength);
    }

    /// <summary>
    /// Writes a complete snapshot file to <paramref name="stream"/>: header, metadata, all of
    /// <paramref name="data"/>, trailer. Does not flush.
    /// </summary>
    internal static void Write(Stream stream, ulong index, ulong term, ReadOnlySpan<byte> metadata, Stream data) =>
        Write(stream, index, term, metadata, sink => data.CopyTo(sink, 1 << 16));

    /// <summary>
    /// Writes a complete snapshot file to <paramref name="stream"/>: header, metadata, whatever
    /// <paramref name="writeData"/> writes to the stream it is given (the data, streamed into the
    /// file as it is produced), trailer. Does not flush.
    /// </summary>
    internal static void Write(Stream stream, ulong index, ulong term, ReadOnlySpan<byte> metadata, Action<Stream> writeData)
    {
        Span<byte> header = stackalloc byte[HeaderSize];
        BinaryPrimitives.WriteUInt64LittleEndian(header, Magic);
        BinaryPrimitives.WriteUInt32LittleEndian(header[8..], Version);
        BinaryPrimitives.WriteUInt32LittleEndian(header[12..], (uint)metadata.Length);
        BinaryPrimitives.WriteUInt64LittleEndian(header[16..], index);
        BinaryPrimitives.WriteUInt64LittleEndian(header[24..], term);
        uint crc = Crc32C.Update(Crc32C.Start, header);
        stream.Write(header);
        crc = Crc32C.Update(crc, metadata);
        stream.Write(metadata);

        var data = new SnapshotDataStream(stream, crc);
        writeData(data);
        crc = data.Crc;

        Span<byte> trailer = stackalloc byte[TrailerSize];
        BinaryPrimitives.WriteUInt64LittleEndian(trailer, (ulong)data.Written);
        crc = Crc32C.Update(crc, trailer[..8]);
        BinaryPrimitives.WriteUInt32LittleEndian(trailer[8..], Crc32C.Finish(crc));
        BinaryPrimitives.WriteUInt32LittleEndian(trailer[12..], EndMagic);
        stream.Write(trailer);
    }

    /// <summary>A read-only window of <c>length</c> bytes from the inner stream's current position.</summary>
    private sealed class BoundedReadStream(Stream inner, long length) : Stream
    {
        private readonly long _length = length;
        private long _remaining = length;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => _length;
        public override long Position { get => _length - _remaining; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            if (_remaining <= 0) return 0;
            if (buffer.Length > _remaining) buffer = buffer[..(int)_remaining];
            int n = inner.Read(buffer);
            _remaining -= n;
            return n;
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing) inner.Dispose();
            base.Dispose(disposing);
        }
    }
}
