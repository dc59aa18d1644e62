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
