using System.Buffers.Binary;
using System.Net.Sockets;

namespace Cairn.Raft.Transport;

/// <summary>Exact-length socket reads and writes; the awaitable Socket API may return short counts.</summary>
internal static class SocketIo
{
    /// <summary>Fills <paramref name="buffer"/>; false on a clean end of stream before the first byte, throws on one in the middle.</summary>
    public static async ValueTask<bool> ReceiveExactlyAsync(Socket socket, Memory<byte> buffer, CancellationToken ct)
    {
        int read = 0;
        while (read < buffer.Length)
        {
            int n = await socket.ReceiveAsync(buffer[read..], SocketFlags.None, ct).ConfigureAwait(false);
            if (n == 0)
            {
                if (read == 0)
                {
                    return false;
                }

                throw new EndOfStreamException($"connection closed after {read} of {buffer.Length} bytes");
            }

            read += n;
        }

        return true;
    }

    /// <summary>
    /// Reads one length-prefixed frame (<see cref="WireFormat"/>); null on a clean end of stream
    /// before its length. Throws <see cref="InvalidDataException"/> when the length exceeds
    /// <paramref name="maxLength"/> and <see cref="EndOfStreamException"/> when the frame is cut short.
    /// </summary>
    public static async ValueTask<byte[]?> ReceiveFrameAsync(Socket socket, int maxLength, string what, CancellationToken ct)
    {
        byte[] lengthBytes = new byte[WireFormat.FrameHeaderSize];
        if (!await ReceiveExactlyAsync(socket, lengthBytes, ct).ConfigureAwait(false))
        {
            return null;
        }

        int length = BinaryPrimitives.ReadInt32BigEndian(lengthBytes);
        if (length < 0 || length > maxLength)
        {
            throw new InvalidDataException($"{what} length {(uint)length} exceeds the {maxLength}-byte limit");
        }

        byte[] frame = new byte[length];
        if (length > 0 && !await ReceiveExactlyAsync(socket, frame, ct).ConfigureAwait(false))
        {
            throw new EndOfStreamException($"connection closed before the {what}");
        }

        return frame;
    }

    /// <summary>Sends <paramref name="payload"/> as one frame (length u32 big-endian, then the bytes), for the one-off request and answer frames.</summary>
    public static ValueTask SendFrameAsync(Socket socket, ReadOnlyMemory<byte> payload, CancellationToken ct)
    {
        byte[] frame = new byte[WireFormat.FrameHeaderSize + payload.Length];
        BinaryPrimitives.WriteInt32BigEndian(frame, payload.Length);
        payload.CopyTo(frame.AsMemory(WireFormat.FrameHeaderSize));
        return SendAllAsync(socket, frame, ct);
    }

    public static async ValueTask SendAllAsync(Socket socket, ReadOnlyMemory<byte> data, CancellationToken ct)
    {
        while (!data.IsEmpty)
        {
            int n = await socket.SendAsync(data, SocketFlags.None, ct).ConfigureAwait(false);
            data = data[n..];
        }
    }

    /// <summary>TCP keepalive so a peer that vanished without a FIN is noticed even on an idle connection.</summary>
    public static void ConfigureForPeer(Socket socket)
    {
        socket.NoDelay = true;
        try
        {
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive, true);
            socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveTime, 10);
            socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveInterval, 2);
            socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveRetryCount, 3);
        }
        catch (SocketException)
        {
            // Keepalive tuning is an optimisation; platforms without it still work (write timeouts remain).
        }
    }
}
