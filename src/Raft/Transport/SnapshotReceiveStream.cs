using System.Buffers;
using System.Buffers.Binary;
using System.Net.Sockets;

namespace Cairn.Raft.Transport;

/// <summary>
/// The snapshot bytes as the receiving handler sees them: a forward-only stream that reads one
/// chunk at a time off the connection and checks its CRC before releasing any of its bytes, so
/// the handler never consumes data from a corrupt chunk — it gets an <see cref="InvalidDataException"/> instead.
/// </summary>
internal sealed class SnapshotReceiveStream : Stream
{
    private readonly Socket _socket;
    private readonly PeerTransportOptions _options;
    private readonly CancellationToken _stopping;
    private readonly byte[] _chunkHeader = new byte[WireFormat.ChunkHeaderSize];
    private byte[] _chunk = [];
    private int _position;
    private int _length;
    private long _chunks;
    private long _total;
    private bool _ended;
    private string? _corruption;

    public SnapshotReceiveStream(Socket socket, PeerTransportOptions options, CancellationToken stopping)
    {
        _socket = socket;
        _options = options;
        _stopping = stopping;
    }

    /// <summary>Why the transfer is known to be corrupt (bad CRC or impossible chunk length), or null.</summary>
    public string? Corruption => _corruption;

    /// <summary>True once the terminating empty chunk was read.</summary>
    public bool Completed => _ended;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => _total - (_length - _position);
        set => throw new NotSupportedException();
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (buffer.IsEmpty)
        {
            return 0;
        }

        while (_position == _length)
        {
            if (_ended)
            {
                return 0;
            }

            await NextChunkAsync(cancellationToken).ConfigureAwait(false);
        }

        int n = Math.Min(buffer.Length, _length - _position);
        _chunk.AsMemory(_position, n).CopyTo(buffer);
        _position += n;
        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        => ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <summary>Synchronous reads block a thread-pool thread; handlers should prefer the async API.</summary>
    public override int Read(byte[] buffer, int offset, int count)
        => ReadAsync(buffer.AsMemory(offset, count), CancellationToken.None).AsTask().GetAwaiter().GetResult();

    /// <summary>Reads (and verifies) whatever the handler left unread, so the reply covers the whole transfer.</summary>
    public async Task DrainAsync(CancellationToken ct)
    {
        while (!_ended)
        {
            _position = _length;
            await NextChunkAsync(ct).ConfigureAwait(false);
        }

        _position = _length;
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (_chunk.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_chunk);
            _chunk = [];
            _position = _length = 0;
        }

        base.Dispose(disposing);
    }

    private async Task NextChunkAsync(CancellationToken ct)
    {
        if (_corruption is not null)
        {
            throw new InvalidDataException(_corruption);
        }

        using var idle = CancellationTokenSource.CreateLinkedTokenSource(ct, _stopping);
        idle.CancelAfter(_options.SnapshotIdleTimeout);
        if (!await SocketIo.ReceiveExactlyAsync(_socket, _chunkHeader, idle.Token).ConfigureAwait(false))
        {
            throw new EndOfStreamException("snapshot connection closed before the end of the snapshot");
        }

        int length = BinaryPrimitives.ReadInt32BigEndian(_chunkHeader);
        uint crc = BinaryPrimitives.ReadUInt32BigEndian(_chunkHeader.AsSpan(4));
        if (length == 0)
        {
            _ended = true;
            _position = _length = 0;
            return;
        }

        if (length < 0 || length > _options.MaxSnapshotChunkSize)
        {
            _corruption = $"snapshot chunk {_chunks} has impossible length {length}";
            throw new InvalidDataException(_corruption);
        }

        if (_chunk.Length < length)
        {
            if (_chunk.Length > 0)
            {
                ArrayPool<byte>.Shared.Return(_chunk);
            }

            _chunk = ArrayPool<byte>.Shared.Rent(length);
        }

        _position = _length = 0;
        if (!await SocketIo.ReceiveExactlyAsync(_socket, _chunk.AsMemory(0, length), idle.Token).ConfigureAwait(false))
        {
            throw new EndOfStreamException("snapshot connection closed inside a chunk");
        }

        uint actual = WireFormat.Crc32C(_chunk.AsSpan(0, length));
        if (actual != crc)
        {
            _corruption = $"snapshot chunk {_chunks} (bytes {_total}..{_total + length}) failed its CRC check: expected {crc:x8}, got {actual:x8}";
            throw new InvalidDataException(_corruption);
        }

        _chunks++;
        _total += length;
        _length = length;
    }
}
