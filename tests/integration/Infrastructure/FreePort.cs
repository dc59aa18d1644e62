using System.Net;
using System.Net.Sockets;

namespace Cairn.IntegrationTests.Infrastructure;

/// <summary>
/// Hands out TCP ports on 127.0.0.1 that were free a moment ago and that this process has not handed out before.
/// There is an unavoidable race with other processes between asking and binding; <see cref="MemberProcess"/> retries
/// a start that failed with "address already in use".
/// </summary>
public static class FreePort
{
    private static readonly HashSet<int> Given = [];
    private static readonly Lock Gate = new();

    /// <summary>A free loopback port not returned before by this process.</summary>
    public static int Next()
    {
        for (var attempt = 0; attempt < 100; attempt++)
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            listener.Stop();
            lock (Gate)
            {
                if (Given.Add(port))
                    return port;
            }
        }
        throw new InvalidOperationException("Could not find a free TCP port on 127.0.0.1.");
    }
}
