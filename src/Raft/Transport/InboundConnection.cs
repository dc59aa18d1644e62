using System.Buffers;
using System.Buffers.Binary;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Text;

namespace Cairn.Raft.Transport;

/// <summary>
/// One accepted connection: reads and checks the preamble, answers it, then either delivers the
/// message stream to the handler, receives one snapshot, or answers one request. Any protocol violation (bad magic,
/// oversized length, truncated frame) closes this connection only.
/// </summary>
internal sealed class InboundConnection
{
    private const int InitialReadBuffer = 64 << 10;

    private readonly PeerTransport _transport;
    private readonly Socket _socket;
    private readonly PeerTransportOptions _options;
    private readonly CancellationToken _stopping;
    private readonly string _remote;

    public InboundConnection(PeerTransport transport, Socket socket, PeerTransportOptions options, CancellationToken stopping)
    {
        _transport = transport;
        _socket = socket;
        _options = options;
        _stopping = stopping;
        _remote = socket.RemoteEndPoint?.ToString() ?? "?";
    }

    private volatile bool _aborted;

    /// <summary>
    /// Closes the socket; the read loop then ends with an error it ignores. Frames already buffered
    /// are not delivered after this, so a replaced stream cannot interleave old messages with those
    /// of the sender's new connection.
    /// </summary>
    public void Abort()
    {
        _aborted = true;
        _socket.Dispose();
    }

    public async Task RunAsync()
    {
        bool holdsSnapshotSlot = false;
        ulong from = 0;
        ConnectionKind kind = 0;
        try
        {
            byte[] preamble = new byte[WireFormat.PreambleSize];
            using (var handshake = CancellationTokenSource.CreateLinkedTokenSource(_stopping))
            {
                handshake.CancelAfter(_options.HandshakeTimeout);
                if (!await SocketIo.ReceiveExactlyAsync(_socket, preamble, handshake.Token).ConfigureAwait(false))
                {
                    return;
                }
            }

            if (!WireFormat.TryReadPreamble(preamble, out byte version, out kind, out ulong clusterId, out from, out ulong to))
            {
                _transport.Log($"inbound {_remote}: not a Cairn peer connection (bad magic), closed");
                return;
            }

            HandshakeStatus status = _transport.Admit(version, kind, clusterId, from, to, out holdsSnapshotSlot);
            await _socket.SendAsync(new[] { (byte)status }, SocketFlags.None, _stopping).ConfigureAwait(false);
            if (status != HandshakeStatus.Accepted)
            {
                _transport.Log($"inbound {_remote}: refused {kind} connection from member {from:x} of cluster {clusterId:x}: {WireFormat.Describe(status)}");
                return;
            }

            if (kind == ConnectionKind.Messages)
            {
                _transport.RegisterStream(from, this);
                await ReadMessagesAsync(from).ConfigureAwait(false);
            }
            else if (kind == ConnectionKind.ClusterInfo)
            {
                await SendClusterInfoAsync().ConfigureAwait(false);
            }
            else if (kind == ConnectionKind.Request)
            {
                await AnswerRequestAsync(from).ConfigureAwait(false);
            }
            else
            {
                await ReceiveSnapshotAsync(from).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is SocketException or IOException or InvalidDataException or ObjectDisposedException or OperationCanceledException)
        {
            if (!_stopping.IsCancellationRequested)
            {
                _transport.Log($"inbound {_remote} (member {from:x}, {kind}): closed: {e.Message}");
            }
        }
        finally
        {
            if (holdsSnapshotSlot)
            {
                _transport.ReleaseSnapshotSlot();
            }

            _socket.Dispose();
            _transport.Forget(this, from);
        }
    }

    /// <summary>
    /// Parses frames out of a growing receive buffer and hands each payload to the handler in place,
    /// so delivery costs no copy; the handler must copy what it keeps (see <see cref="PeerTransport"/>).
    /// </summary>
    private async Task ReadMessagesAsync(ulong from)
    {
        Action<ulong, ReadOnlyMemory<byte>> handler = _transport.MessageHandler;
        StrongBox<long> received = _transport.ReceivedCounter(from);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(InitialReadBuffer);
        int start = 0;
        int end = 0;
        try
        {
            while (true)
            {
                int needed = WireFormat.FrameHeaderSize;
                while (end - start >= WireFormat.FrameHeaderSize)
                {
                    int length = BinaryPrimitives.ReadInt32BigEndian(buffer.AsSpan(start));
                    if (length < 0 || length > _options.MaxFrameSize)
                    {
                        throw new InvalidDataException($"frame length {(uint)length} exceeds the {_options.MaxFrameSize}-byte limit");
                    }

                    needed = WireFormat.FrameHeaderSize + length;
                    if (end - start < needed)
                    {
                        break;
                    }

                    if (_aborted)
                    {
                        return;
                    }

                    try
                    {
                        handler(from, buffer.AsMemory(start + WireFormat.FrameHeaderSize, length));
                    }
                    catch (Exception e)
                    {
                        // A bug in the consumer must not tear down the peer link; Raft treats the message as lost.
                        _transport.Log($"message handler threw for a message from {from:x}: {e}");
                    }

                    Interlocked.Increment(ref received.Value);
                    start += needed;
                    needed = WireFormat.FrameHeaderSize;
                }

                // Keep the partial frame at the front, growing the buffer when one frame needs more room.
                int partial = end - start;
                if (needed > buffer.Length)
                {
                    byte[] larger = ArrayPool<byte>.Shared.Rent(needed);
                    buffer.AsSpan(start, partial).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }
                else if (start > 0)
                {
                    buffer.AsSpan(start, partial).CopyTo(buffer);
                }

                start = 0;
                end = partial;

                int n = await _socket.ReceiveAsync(buffer.AsMemory(end), SocketFlags.None, _stopping).ConfigureAwait(false);
                if (n == 0)
                {
                    if (end > 0)
                    {
                        throw new EndOfStreamException($"connection closed inside a frame ({end} bytes pending)");
                    }

                    return;
                }

                end += n;

                // Return a buffer grown for one huge frame once it is no longer needed.
                if (buffer.Length > 4 * InitialReadBuffer && end <= InitialReadBuffer && needed <= InitialReadBuffer)
                {
                    byte[] normal = ArrayPool<byte>.Shared.Rent(InitialReadBuffer);
                    buffer.AsSpan(0, end).CopyTo(normal);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = normal;
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private Task SendClusterInfoAsync() => SendAnswerAsync(_transport.ClusterInfoProvider!());

    /// <summary>
    /// Reads the one request frame, runs the handler and sends its answer, all within the request
    /// timeout, so a slow asker or a stuck handler holds this connection's slot only that long.
    /// A failed handler closes the connection without an answer; the asker sees an error.
    /// </summary>
    private async Task AnswerRequestAsync(ulong from)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stopping);
        timeout.CancelAfter(_options.RequestTimeout);
        byte[]? request = await SocketIo.ReceiveFrameAsync(_socket, _options.MaxRequestSize, "request", timeout.Token).ConfigureAwait(false);
        if (request is null)
        {
            return;
        }

        ReadOnlyMemory<byte> answer;
        try
        {
            // WaitAsync bounds even a handler that ignores its token.
            answer = await _transport.RequestHandler!(from, request, timeout.Token).WaitAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (!_stopping.IsCancellationRequested)
        {
            _transport.Log($"request handler failed for a request from {from:x}: {e.Message}");
            return;
        }

        if (answer.Length > _options.MaxFrameSize)
        {
            _transport.Log($"request from {from:x}: the {answer.Length}-byte answer exceeds the {_options.MaxFrameSize}-byte frame limit, closed without it");
            return;
        }

        await SendAnswerAsync(answer).ConfigureAwait(false);
    }

    /// <summary>Sends one answer frame and ends this side of the connection.</summary>
    private async Task SendAnswerAsync(ReadOnlyMemory<byte> answer)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stopping);
        timeout.CancelAfter(_options.WriteTimeout);
        await SocketIo.SendFrameAsync(_socket, answer, timeout.Token).ConfigureAwait(false);
        _socket.Shutdown(SocketShutdown.Send);
    }

    private async Task ReceiveSnapshotAsync(ulong from)
    {
        using var headerWait = CancellationTokenSource.CreateLinkedTokenSource(_stopping);
        headerWait.CancelAfter(_options.SnapshotIdleTimeout);
        byte[]? header = await SocketIo.ReceiveFrameAsync(_socket, _options.MaxFrameSize, "snapshot header", headerWait.Token).ConfigureAwait(false);
        if (header is null)
        {
            return;
        }

        SnapshotResult result;
        string reason = string.Empty;
        using (var data = new SnapshotReceiveStream(_socket, _options, _stopping))
        {
            try
            {
                await _transport.SnapshotHandler!(from, header, data, _stopping).ConfigureAwait(false);
                await data.DrainAsync(_stopping).ConfigureAwait(false);
                result = SnapshotResult.Applied;
            }
            catch (Exception e) when (!_stopping.IsCancellationRequested && !(data.Corruption is null && e is SocketException or EndOfStreamException))
            {
                result = data.Corruption is not null ? SnapshotResult.Corrupt : SnapshotResult.HandlerFailed;
                reason = data.Corruption ?? e.Message;
            }

            // A handler that swallowed the CRC error must not make the sender believe the snapshot landed.
            if (data.Corruption is not null)
            {
                result = SnapshotResult.Corrupt;
                reason = data.Corruption;
            }
        }

        if (result != SnapshotResult.Applied)
        {
            _transport.Log($"snapshot from {from:x} rejected ({result}): {reason}");
        }

        byte[] reasonBytes = Encoding.UTF8.GetBytes(reason);
        int reasonLength = Math.Min(reasonBytes.Length, WireFormat.MaxReasonBytes);
        byte[] reply = new byte[3 + reasonLength];
        reply[0] = (byte)result;
        BinaryPrimitives.WriteUInt16BigEndian(reply.AsSpan(1), (ushort)reasonLength);
        reasonBytes.AsSpan(0, reasonLength).CopyTo(reply.AsSpan(3));
        await SocketIo.SendAllAsync(_socket, reply, _stopping).ConfigureAwait(false);
    }
}
