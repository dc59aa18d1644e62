namespace Cairn.Raft.Storage;

/// <summary>
/// The write-only stream a snapshot's data is written through on its way into a snapshot file:
/// passes every byte to the file and keeps the running CRC-32C and the length the trailer needs.
/// </summary>
/// <remarks>
/// It exists so the state machine can serialize itself straight into the file: buffering the whole
/// state in memory first cost a growing <see cref="MemoryStream"/> (about twice the snapshot in
/// large-object-heap garbage) plus the final copy, on every snapshot.
/// </remarks>
internal sealed class SnapshotDataStream(Stream inner, uint crc) : Stream
{
    /// <summary>The CRC-32C register (not finished) over everything before the data and the data written so far.</summary>
    public uint Crc { get; private set; } = crc;

    /// <summary>Bytes of data written so far.</summary>
    public long Written { get; private set; }

    /// <inheritdoc />
    public override bool CanRead => false;

    /// <inheritdoc />
    public override bool CanSeek => false;

    /// <inheritdoc />
    public override bool CanWrite => true;

    /// <inheritdoc />
    public override long Length => Written;

    /// <inheritdoc />
    public override long Position { get => Written; set => throw new NotSupportedException(); }

    /// <inheritdoc />
    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    /// <inheritdoc />
    public override void Write(ReadOnlySpan<byte> buffer)
    {
        Crc = Crc32C.Update(Crc, buffer);
        inner.Write(buffer);
        Written += buffer.Length;
    }

    /// <inheritdoc />
    public override void WriteByte(byte value) => Write([value]);

    /// <summary>Nothing to do: the snapshot file is flushed and synced once, after the trailer.</summary>
    public override void Flush() { }

    /// <inheritdoc />
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    /// <inheritdoc />
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    /// <inheritdoc />
    public override void SetLength(long value) => throw new NotSupportedException();
}
