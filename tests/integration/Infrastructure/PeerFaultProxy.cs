using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Cairn.IntegrationTests.Infrastructure;

/// <summary>
/// A TCP fault proxy for Cairn's peer links. One listener per member (the address the member advertises and the
/// others dial) forwards to the member's real peer port. Cairn's peer transport opens every connection with a
/// 32-byte preamble (magic "CRNT", version, kind, reserved, cluster id, sender id, target id — see
/// src/Raft/Transport/WireFormat.cs); the proxy reads it and refuses (closes) connections whose (sender, target)
/// pair is blocked. Blocking a pair also closes the live connections of that pair at once. Unknown traffic (a wrong
/// magic) is forwarded untouched.
/// </summary>
public sealed class PeerFaultProxy : IAsyncDisposable
{
    private const uint Magic = 0x43524E54;
    private const int PreambleSize = 32;

    private readonly ConcurrentDictionary<(ulong From, ulong To), byte> _blocked = new();
    private readonly ConcurrentDictionary<Link, byte> _links = new();
    private readonly List<Listener> _listeners = [];
    private readonly CancellationTokenSource _stop = new();
    private long _refused;

    /// <summary>Connections refused or cut because their pair was blocked.</summary>
    public long Refused => Interlocked.Read(ref _refused);

    /// <summary>Starts a listener on a fresh loopback port that forwards to <paramref name="targetPort"/>; returns its port.</summary>
    public int AddRoute(int targetPort)
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var entry = new Listener(listener, targetPort);
        lock (_listeners)
            _listeners.Add(entry);
        _ = Task.Run(() => AcceptLoopAsync(entry));
        return port;
    }

    /// <summary>Starts a listener on <paramref name="listenPort"/> (must be free) that forwards to <paramref name="targetPort"/>.</summary>
    public void AddRoute(int listenPort, int targetPort)
    {
        var listener = new TcpListener(IPAddress.Loopback, listenPort);
        listener.Start();
        var entry = new Listener(listener, targetPort);
        lock (_listeners)
            _listeners.Add(entry);
        _ = Task.Run(() => AcceptLoopAsync(entry));
    }

    /// <summary>Blocks traffic from <paramref name="from"/> to <paramref name="to"/> (new connections and live ones).</summary>
    public void Block(ulong from, ulong to)
    {
        _blocked[(from, to)] = 0;
        foreach (var link in _links.Keys)
        {
            if (link.From == from && link.To == to)
                link.Cut();
        }
    }

    /// <summary>Cuts <paramref name="member"/> from every other member in <paramref name="all"/>, both ways.</summary>
    public void Isolate(ulong member, IEnumerable<ulong> all)
    {
        foreach (var other in all)
        {
            if (other == member)
                continue;
            Block(member, other);
            Block(other, member);
        }
    }

    /// <summary>Removes every block.</summary>
    public void HealAll() => _blocked.Clear();

    private bool IsBlocked(ulong from, ulong to) => _blocked.ContainsKey((from, to));

    private async Task AcceptLoopAsync(Listener entry)
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await entry.Socket.AcceptTcpClientAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException)
            {
                continue;
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            _ = Task.Run(() => HandleAsync(client, entry.TargetPort));
        }
    }

    private async Task HandleAsync(TcpClient inbound, int targetPort)
    {
        TcpClient? outbound = null;
        Link? link = null;
        try
        {
            inbound.NoDelay = true;
            var inStream = inbound.GetStream();
            var preamble = new byte[PreambleSize];
            using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token))
            {
                timeout.CancelAfter(TimeSpan.FromSeconds(30));
                await inStream.ReadExactlyAsync(preamble, timeout.Token).ConfigureAwait(false);
            }
            ulong from = 0, to = 0;
            if (BinaryPrimitives.ReadUInt32BigEndian(preamble) == Magic)
            {
                from = BinaryPrimitives.ReadUInt64BigEndian(preamble.AsSpan(16));
                to = BinaryPrimitives.ReadUInt64BigEndian(preamble.AsSpan(24));
                if (IsBlocked(from, to))
                {
                    Interlocked.Increment(ref _refused);
                    return;
                }
            }
            outbound = new TcpClient { NoDelay = true };
            await outbound.ConnectAsync(IPAddress.Loopback, targetPort, _stop.Token).ConfigureAwait(false);
            var outStream = outbound.GetStream();
            await outStream.WriteAsync(preamble, _stop.Token).ConfigureAwait(false);
            link = new Link(from, to, inbound, outbound);
            _links[link] = 0;
            if (IsBlocked(from, to))
            {
                // Blocked while we connected.
                Interlocked.Increment(ref _refused);
                return;
            }
            using var cut = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token, link.Token);
            var a = PumpAsync(inStream, outStream, cut.Token);
            var b = PumpAsync(outStream, inStream, cut.Token);
            await Task.WhenAny(a, b).ConfigureAwait(false);
            cut.Cancel();
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException or EndOfStreamException)
        {
            // Connection ended.
        }
        finally
        {
            if (link is not null)
                _links.TryRemove(link, out _);
            Close(inbound);
            if (outbound is not null)
                Close(outbound);
        }
    }

    private static async Task PumpAsync(Stream source, Stream sink, CancellationToken cancellationToken)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            int read;
            while ((read = await source.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
                await sink.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // Either side closed or the link was cut.
        }
    }

    private static void Close(TcpClient client)
    {
        try
        {
            // Abortive close (RST) so that the member sees the cut at once.
            // Client is null once the other side of the proxy already closed this connection.
            if (client.Client is { } socket)
                socket.LingerState = new LingerOption(true, 0);
            client.Close();
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }
    }

    /// <summary>Stops every listener and cuts every connection.</summary>
    public ValueTask DisposeAsync()
    {
        _stop.Cancel();
        lock (_listeners)
        {
            foreach (var l in _listeners)
                l.Socket.Stop();
        }
        foreach (var link in _links.Keys)
            link.Cut();
        return ValueTask.CompletedTask;
    }

    private sealed record Listener(TcpListener Socket, int TargetPort);

    private sealed class Link(ulong from, ulong to, TcpClient inbound, TcpClient outbound)
    {
        private readonly CancellationTokenSource _cut = new();

        public ulong From { get; } = from;

        public ulong To { get; } = to;

        public CancellationToken Token => _cut.Token;

        public void Cut()
        {
            try
            {
                _cut.Cancel();
            }
            catch (ObjectDisposedException)
            {
            }
            PeerFaultProxy.Close(inbound);
            PeerFaultProxy.Close(outbound);
        }
    }
}
