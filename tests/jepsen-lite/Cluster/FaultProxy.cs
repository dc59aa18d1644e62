using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Cairn.JepsenLite.Cluster;

/// <summary>
/// TCP fault proxy for peer and client links. Per member one peer listener (the peer URL the member advertises)
/// forwards to the member's real peer port, and one client listener (its advertised client URL, which every
/// harness client uses) forwards to its real client port; client connections have the sender
/// <see cref="Clients"/>. The sender of a connection is identified from its first bytes: Cairn's 32-byte
/// preamble (magic "CRNT", …, from u64, to u64 — src/Raft/Transport/WireFormat.cs) or etcd's HTTP request header
/// X-Server-From (hex member id). Links are cut by (sender index, target index); an unidentified sender is cut
/// when any link into the target is blocked (cut by destination). Faults: block pairs, delay every forwarded chunk
/// (mean ± jitter ms, order preserved per direction), and "drop": while on, new connections are refused and live
/// ones are cut with the given probability per forwarded chunk (TCP cannot lose bytes without corrupting a stream;
/// Raft sees it as message loss plus reconnects). Delay and drop are peer faults: client links are only cut.
/// </summary>
public sealed class FaultProxy : IAsyncDisposable
{
    /// <summary>Sender index of every client connection (register clients, watchers, the archive watcher).</summary>
    public const int Clients = 99;

    private const uint CairnMagic = 0x43524E54;
    private readonly ConcurrentDictionary<(int From, int To), byte> _blocked = new();
    private readonly ConcurrentDictionary<Link, byte> _links = new();
    private readonly Dictionary<int, TcpListener> _listeners = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly Random _rnd;
    private readonly Lock _rndGate = new();

    public FaultProxy(int seed) => _rnd = new Random(seed);

    /// <summary>Member id → member index, for identifying senders.</summary>
    public ConcurrentDictionary<ulong, int> Ids { get; } = new();

    public int DelayMeanMs { get; set; }
    public int DelayJitterMs { get; set; }
    public double DropProbability { get; set; }

    /// <summary>Listens on <paramref name="listenPort"/> and forwards to <paramref name="targetPort"/> of member
    /// <paramref name="index"/>; with <paramref name="client"/> the connections are client links.</summary>
    public void AddRoute(int index, int listenPort, int targetPort, bool client = false)
    {
        var l = new TcpListener(IPAddress.Loopback, listenPort);
        l.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        l.Start();
        lock (_listeners) _listeners.Add(listenPort, l);
        _ = Task.Run(() => AcceptLoop(l, index, targetPort, listenPort, client));
    }

    /// <summary>Stops a route (a replaced member's old peer URL) and cuts its live connections.</summary>
    public void RemoveRoute(int listenPort)
    {
        lock (_listeners)
        {
            if (_listeners.Remove(listenPort, out var l)) l.Stop();
        }
        foreach (var link in _links.Keys.Where(k => k.ListenPort == listenPort))
        {
            link.Close();
        }
    }

    public void Block(int from, int to)
    {
        _blocked[(from, to)] = 0;
        foreach (var link in _links.Keys.Where(k => Cut(k.From, k.To)))
        {
            link.Close();
        }
    }

    public void HealAll()
    {
        _blocked.Clear();
        DelayMeanMs = DelayJitterMs = 0;
        DropProbability = 0;
    }

    /// <summary>Cuts every link between member <paramref name="a"/> and member <paramref name="b"/>, both ways.</summary>
    public void BlockBoth(int a, int b)
    {
        Block(a, b);
        Block(b, a);
    }

    // An unidentified peer sender is cut when any peer link into the target is blocked; client blocks do not count.
    private bool Cut(int from, int to) => from < 0 ? _blocked.Keys.Any(k => k.To == to && k.From != Clients) : _blocked.ContainsKey((from, to));

    private double Next()
    {
        lock (_rndGate) return _rnd.NextDouble();
    }

    private async Task AcceptLoop(TcpListener l, int to, int targetPort, int listenPort, bool client)
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient c;
            try
            {
                c = await l.AcceptTcpClientAsync(_stop.Token);
            }
            catch
            {
                return;
            }
            _ = Task.Run(() => client ? Forward(c, Clients, to, targetPort, listenPort, [], 0) : Handle(c, to, targetPort, listenPort));
        }
    }

    private async Task Handle(TcpClient client, int to, int targetPort, int listenPort)
    {
        using var clientScope = client;
        var inbound = client.GetStream();
        var head = new byte[4096];
        int n = 0;
        try
        {
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
            cts.CancelAfter(5000);
            // Read enough to identify the sender: 32 bytes (Cairn), or an HTTP header block.
            while (n < 32 || (BinaryPrimitives.ReadUInt32BigEndian(head) != CairnMagic && !HeaderComplete(head, n) && n < head.Length))
            {
                int r = await inbound.ReadAsync(head.AsMemory(n), cts.Token);
                if (r == 0) return;
                n += r;
            }
        }
        catch
        {
            return;
        }
        int from = -1;
        if (BinaryPrimitives.ReadUInt32BigEndian(head) == CairnMagic)
        {
            var fromId = BinaryPrimitives.ReadUInt64BigEndian(head.AsSpan(16));
            var toId = BinaryPrimitives.ReadUInt64BigEndian(head.AsSpan(24));
            Ids.TryAdd(toId, to);
            from = Ids.TryGetValue(fromId, out var f) ? f : -1;
        }
        else
        {
            var text = Encoding.ASCII.GetString(head, 0, n);
            var i = text.IndexOf("X-Server-From:", StringComparison.OrdinalIgnoreCase);
            if (i >= 0)
            {
                var end = text.IndexOf('\r', i);
                var hex = text[(i + 14)..end].Trim();
                if (ulong.TryParse(hex, System.Globalization.NumberStyles.HexNumber, null, out var id) && Ids.TryGetValue(id, out var f))
                {
                    from = f;
                }
            }
        }
        await Forward(client, from, to, targetPort, listenPort, head, n);
    }

    private async Task Forward(TcpClient client, int from, int to, int targetPort, int listenPort, byte[] head, int n)
    {
        using var clientScope = client;
        client.NoDelay = true;
        var inbound = client.GetStream();
        if (Cut(from, to) || (from != Clients && DropProbability > 0 && Next() < DropProbability))
        {
            return;
        }
        using var server = new TcpClient { NoDelay = true };
        try
        {
            await server.ConnectAsync(IPAddress.Loopback, targetPort, _stop.Token);
        }
        catch
        {
            return;
        }
        var outbound = server.GetStream();
        var link = new Link(from, to, listenPort, client, server);
        _links[link] = 0;
        try
        {
            await outbound.WriteAsync(head.AsMemory(0, n), _stop.Token);
            await Task.WhenAny(Pump(inbound, outbound, link), Pump(outbound, inbound, link));
        }
        catch
        {
        }
        finally
        {
            _links.TryRemove(link, out _);
            link.Close();
        }
    }

    private static bool HeaderComplete(byte[] b, int n)
    {
        for (int i = 3; i < n; i++)
        {
            if (b[i - 3] == '\r' && b[i - 2] == '\n' && b[i - 1] == '\r' && b[i] == '\n') return true;
        }
        return false;
    }

    private async Task Pump(NetworkStream src, NetworkStream dst, Link link)
    {
        var buf = new byte[64 * 1024];
        try
        {
            while (true)
            {
                int r = await src.ReadAsync(buf, _stop.Token);
                if (r == 0) return;
                if (Cut(link.From, link.To)) return;
                if (link.From == Clients)
                {
                    await dst.WriteAsync(buf.AsMemory(0, r), _stop.Token);
                    continue;
                }
                if (DropProbability > 0 && Next() < DropProbability * 0.05) return;
                if (DelayMeanMs > 0)
                {
                    int d = DelayMeanMs + (int)((Next() * 2 - 1) * DelayJitterMs);
                    if (d > 0) await Task.Delay(d, _stop.Token);
                }
                await dst.WriteAsync(buf.AsMemory(0, r), _stop.Token);
            }
        }
        catch
        {
        }
    }

    public ValueTask DisposeAsync()
    {
        _stop.Cancel();
        lock (_listeners)
        {
            foreach (var l in _listeners.Values) l.Stop();
        }
        foreach (var link in _links.Keys) link.Close();
        return ValueTask.CompletedTask;
    }

    private sealed class Link(int from, int to, int listenPort, TcpClient a, TcpClient b)
    {
        public int From { get; } = from;
        public int To { get; } = to;
        public int ListenPort { get; } = listenPort;

        public void Close()
        {
            try { a.Client.Close(); } catch { }
            try { b.Client.Close(); } catch { }
        }
    }
}
