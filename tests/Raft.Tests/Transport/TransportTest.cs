using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Cairn.Raft.Transport;

namespace Cairn.Raft.Tests.Transport;

/// <summary>Shared helpers: ports, URLs, tagged messages, raw sockets speaking the wire format.</summary>
internal static class TransportTest
{
    public const ulong Cluster = 0xC1A5;

    public static readonly Uri AnyPort = new("http://127.0.0.1:0");

    /// <summary>Fast reconnects so tests that bring peers up and down do not wait a full second.</summary>
    public static PeerTransportOptions Options() => new()
    {
        MaxReconnectDelay = TimeSpan.FromMilliseconds(200),
        Log = TestLog.Write,
    };

    /// <summary>A message of <paramref name="size"/> bytes carrying (sender, sequence) in its first 16 bytes.</summary>
    public static byte[] Message(ulong from, long seq, int size = 64)
    {
        byte[] m = new byte[Math.Max(size, 16)];
        BinaryPrimitives.WriteUInt64BigEndian(m, from);
        BinaryPrimitives.WriteInt64BigEndian(m.AsSpan(8), seq);
        for (int i = 16; i < m.Length; i++)
        {
            m[i] = (byte)(seq + i);
        }

        return m;
    }

    public static long Seq(byte[] message) => BinaryPrimitives.ReadInt64BigEndian(message.AsSpan(8));

    /// <summary>A loopback port that nothing listens on (bound then released).</summary>
    public static int FreePort()
    {
        using var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        s.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)s.LocalEndPoint!).Port;
    }

    public static Uri Url(int port) => new($"http://127.0.0.1:{port}");

    /// <summary>Polls <paramref name="condition"/> until true or timeout.</summary>
    public static bool Eventually(Func<bool> condition, TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < timeout)
        {
            if (condition())
            {
                return true;
            }

            Thread.Sleep(10);
        }

        return condition();
    }

    /// <summary>Raw client socket connected to a transport, for protocol-abuse tests.</summary>
    public static Socket RawConnect(PeerTransport target)
    {
        var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveTimeout = 5000, SendTimeout = 5000 };
        s.Connect(target.ListenEndPoint);
        return s;
    }

    public static byte[] Preamble(byte kind, ulong cluster, ulong from, ulong to, uint magic = 0x43524E54, byte version = 1)
    {
        byte[] p = new byte[32];
        BinaryPrimitives.WriteUInt32BigEndian(p, magic);
        p[4] = version;
        p[5] = kind;
        BinaryPrimitives.WriteUInt64BigEndian(p.AsSpan(8), cluster);
        BinaryPrimitives.WriteUInt64BigEndian(p.AsSpan(16), from);
        BinaryPrimitives.WriteUInt64BigEndian(p.AsSpan(24), to);
        return p;
    }

    /// <summary>True when the peer closed the connection (read returns 0 or the socket is reset) within the receive timeout.</summary>
    public static bool ClosedByPeer(Socket s)
    {
        byte[] buf = new byte[256];
        try
        {
            while (true)
            {
                int n = s.Receive(buf);
                if (n == 0)
                {
                    return true;
                }
            }
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionAborted)
        {
            return true;
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.TimedOut)
        {
            return false;
        }
    }
}
