using System.Net;
using System.Net.Sockets;

namespace Cairn.Client.Tests.Infra;

/// <summary>Free loopback ports and port checks.</summary>
public static class TestPorts
{
    private static readonly object Lock = new();
    private static readonly HashSet<int> Handed = new();

    /// <summary>A port nobody listens on now (and that this process has not handed out before).</summary>
    public static int Free()
    {
        lock (Lock)
        {
            while (true)
            {
                var listener = new TcpListener(IPAddress.Loopback, 0);
                listener.Start();
                var port = ((IPEndPoint)listener.LocalEndpoint).Port;
                listener.Stop();
                if (Handed.Add(port))
                {
                    return port;
                }
            }
        }
    }

    /// <summary>True when something accepts connections on 127.0.0.1:<paramref name="port"/>.</summary>
    public static bool InUse(int port)
    {
        try
        {
            using var client = new TcpClient();
            var connect = client.ConnectAsync(IPAddress.Loopback, port);
            return connect.Wait(TimeSpan.FromMilliseconds(300)) && client.Connected;
        }
        catch (Exception)
        {
            return false;
        }
    }
}
