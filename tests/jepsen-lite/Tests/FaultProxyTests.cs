using System.Net;
using System.Net.Sockets;
using Cairn.JepsenLite.Cluster;

namespace Cairn.JepsenLite.Tests;

/// <summary>The fault proxy's client links: forwarded, cut by a client block, untouched by peer blocks.</summary>
public class FaultProxyTests
{
    /// <summary>An echo server on a free port; returns the port.</summary>
    private static int Echo(CancellationToken ct)
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        ct.Register(l.Stop);
        _ = Task.Run(async () =>
        {
            while (!ct.IsCancellationRequested)
            {
                var c = await l.AcceptTcpClientAsync(ct);
                _ = Task.Run(async () =>
                {
                    using var cc = c;
                    var s = c.GetStream();
                    var buf = new byte[256];
                    int n;
                    while ((n = await s.ReadAsync(buf, ct)) > 0) await s.WriteAsync(buf.AsMemory(0, n), ct);
                }, ct);
            }
        }, ct);
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    /// <summary>Sends one byte and waits for the echo; false when the link is refused or cut.</summary>
    private static async Task<bool> RoundTrip(NetworkStream s)
    {
        try
        {
            using var cts = new CancellationTokenSource(3000);
            await s.WriteAsync(new byte[] { 7 }, cts.Token);
            var b = new byte[1];
            return await s.ReadAsync(b, cts.Token) == 1 && b[0] == 7;
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or SocketException)
        {
            return false;
        }
    }

    private static async Task<NetworkStream> Connect(int port)
    {
        var c = new TcpClient();
        await c.ConnectAsync(IPAddress.Loopback, port);
        return c.GetStream();
    }

    /// <summary>An echo server behind a client route of a new proxy, and one live link through it.</summary>
    private static async Task<(FaultProxy Proxy, int Listen, NetworkStream Live)> Route(CancellationToken ct)
    {
        var target = Echo(ct);
        var proxy = new FaultProxy(1);
        int listen = TestCluster.FreePort();
        proxy.AddRoute(0, listen, target, client: true);
        var live = await Connect(listen);
        Assert.True(await RoundTrip(live));
        return (proxy, listen, live);
    }

    [Fact]
    public async Task ClientLinksAreCutByClientBlocksOnlyAndHeal()
    {
        using var stop = new CancellationTokenSource();
        var (proxy, listen, live) = await Route(stop.Token);
        await using var _ = proxy;

        // Peer faults do not touch client links: peer blocks into the member, delay and drop.
        proxy.BlockBoth(0, 1);
        proxy.DropProbability = 1;
        Assert.True(await RoundTrip(live));
        Assert.True(await RoundTrip(await Connect(listen)));
        proxy.HealAll();

        // A client block cuts the live link and refuses new ones.
        proxy.Block(FaultProxy.Clients, 0);
        Assert.False(await RoundTrip(live));
        Assert.False(await RoundTrip(await Connect(listen)));

        proxy.HealAll();
        Assert.True(await RoundTrip(await Connect(listen)));
        await stop.CancelAsync();
    }

    [Fact]
    public async Task RemovedRouteRefusesConnections()
    {
        using var stop = new CancellationTokenSource();
        var (proxy, listen, live) = await Route(stop.Token);
        await using var _ = proxy;
        proxy.RemoveRoute(listen);
        Assert.False(await RoundTrip(live));
        await Assert.ThrowsAnyAsync<SocketException>(() => Connect(listen));
        await stop.CancelAsync();
    }
}
