using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Cairn.Tests.Shared;

/// <summary>
/// A TCP fault proxy for Cairn's peer links. One listener per member (the address the member advertises and the
/// others dial) forwards to the member's real peer port. Cairn's peer transport opens every connection with a
/// 32-byte preamble (magic "CRNT", version, kind, reserved, cluster id, sender id, target id — see
/// src/Raft/Transport/WireFormat.cs); the proxy reads it and refuses (closes) connections whose (sender, target)
/// pair is blocked. Blocking a pair also closes the live connections of that pair at once.
/// <para>etcd's peer traffic (HTTP/1.1 from rafthttp) is recognised too. Its connections are pooled and the first
/// request on one may name no sender (a /raft/probing GET), so the proxy watches every request that passes: the
/// first <c>X-Server-From</c> header names the sender for the connection's life (one member's transport owns a
/// connection), <c>X-Raft-To</c> or else the member registered for the route with <see cref="SetTarget"/> the
/// target; the request that reveals a blocked pair is not forwarded and the connection is cut. For etcd a pair
/// names a connection's dialer and listener, not the direction of its messages (a stream carries the listener's
/// messages to the dialer), which <see cref="Isolate"/> does not care about since it blocks both ways. Until a
/// connection names its sender (probes, /version, /members) it is forwarded, as is any other unknown traffic.</para>
/// </summary>
public sealed class PeerFaultProxy : IAsyncDisposable
{
    private const uint Magic = 0x43524E54;
    private const int PreambleSize = 32;

    private readonly ConcurrentDictionary<(ulong From, ulong To), byte> _blocked = new();
    private readonly ConcurrentDictionary<Link, byte> _links = new();
    private readonly List<Listener> _listeners = [];
    private readonly ConcurrentDictionary<int, ulong> _targets = new();
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

    /// <summary>
    /// Names the member behind the route listening on <paramref name="listenPort"/>, for traffic that does not say
    /// whom it is for (etcd's pipeline POSTs). Cairn's preamble always names it; etcd's ids are known only once it runs.
    /// </summary>
    public void SetTarget(int listenPort, ulong memberId) => _targets[listenPort] = memberId;

    /// <summary>Blocks traffic from <paramref name="from"/> to <paramref name="to"/> (new connections and live ones).</summary>
    public void Block(ulong from, ulong to)
    {
        _blocked[(from, to)] = 0;
        foreach (var link in _links.Keys)
        {
            if (link.From == from && TargetOf(link) == to)
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

    private ulong TargetOf(Link link) => link.To != 0 ? link.To : _targets.GetValueOrDefault(link.RoutePort);

    private bool IsBlocked(Link link) => link.From != 0 && IsBlocked(link.From, TargetOf(link));

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
            _ = Task.Run(() => HandleAsync(client, entry));
        }
    }

    private async Task HandleAsync(TcpClient inbound, Listener route)
    {
        var routePort = ((IPEndPoint)route.Socket.LocalEndpoint).Port;
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
            outbound = new TcpClient { NoDelay = true };
            link = new Link(routePort, inbound, outbound);
            EtcdSenderScanner? scanner = null;
            if (BinaryPrimitives.ReadUInt32BigEndian(preamble) == Magic)
                link.Identify(BinaryPrimitives.ReadUInt64BigEndian(preamble.AsSpan(16)), BinaryPrimitives.ReadUInt64BigEndian(preamble.AsSpan(24)));
            else if (IsHttpRequest(preamble))
                scanner = new EtcdSenderScanner();
            scanner?.Feed(preamble, link);
            if (IsBlocked(link))
            {
                Interlocked.Increment(ref _refused);
                return;
            }
            await outbound.ConnectAsync(IPAddress.Loopback, route.TargetPort, _stop.Token).ConfigureAwait(false);
            var outStream = outbound.GetStream();
            await outStream.WriteAsync(preamble, _stop.Token).ConfigureAwait(false);
            _links[link] = 0;
            if (IsBlocked(link))
            {
                // Blocked while we connected.
                Interlocked.Increment(ref _refused);
                return;
            }
            // An etcd connection is checked again whenever a request reveals more about who sends it.
            Func<ReadOnlyMemory<byte>, bool>? allow = scanner == null ? null : chunk =>
            {
                if (link.From != 0 && link.To != 0)
                    return true;
                scanner.Feed(chunk.Span, link);
                if (!IsBlocked(link))
                    return true;
                Interlocked.Increment(ref _refused);
                return false;
            };
            using var cut = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token, link.Token);
            var a = PumpAsync(inStream, outStream, allow, cut.Token);
            var b = PumpAsync(outStream, inStream, null, cut.Token);
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

    private static bool IsHttpRequest(ReadOnlySpan<byte> start) =>
        start.StartsWith("GET /"u8) || start.StartsWith("POST /"u8) || start.StartsWith("PUT /"u8);

    /// <summary>Copies until either side ends; a chunk that <paramref name="allow"/> refuses is not forwarded and ends the copy.</summary>
    private static async Task PumpAsync(Stream source, Stream sink, Func<ReadOnlyMemory<byte>, bool>? allow, CancellationToken cancellationToken)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            int read;
            while ((read = await source.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
            {
                if (allow != null && !allow(buffer.AsMemory(0, read)))
                    return;
                await sink.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
            }
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

    /// <summary>
    /// Finds etcd's <c>X-Server-From</c> and <c>X-Raft-To</c> headers (member ids in hex) in the bytes of a connection
    /// as they pass, including a header split across two reads (the tail of the previous read is kept).
    /// </summary>
    private sealed class EtcdSenderScanner
    {
        private const int Tail = 64;
        private string _carry = "";

        public void Feed(ReadOnlySpan<byte> chunk, Link link)
        {
            var text = _carry + Encoding.ASCII.GetString(chunk);
            link.Identify(Find(text, "\nX-Server-From:"), Find(text, "\nX-Raft-To:"));
            _carry = text.Length > Tail ? text[^Tail..] : text;
        }

        /// <summary>The hex id after <paramref name="header"/> on a complete line, or 0.</summary>
        private static ulong Find(string text, string header)
        {
            var at = text.IndexOf(header, StringComparison.OrdinalIgnoreCase);
            if (at < 0)
                return 0;
            var start = at + header.Length;
            var end = text.IndexOf('\r', start);
            if (end < 0)
                return 0;
            return ulong.TryParse(text.AsSpan(start, end - start).Trim(), System.Globalization.NumberStyles.AllowHexSpecifier, null, out var id) ? id : 0;
        }
    }

    private sealed class Link(int routePort, TcpClient inbound, TcpClient outbound)
    {
        private readonly CancellationTokenSource _cut = new();
        private long _from;
        private long _to;

        /// <summary>The sender, or 0 while unknown.</summary>
        public ulong From => (ulong)Interlocked.Read(ref _from);

        /// <summary>The target, or 0 when only the route knows it (<see cref="PeerFaultProxy.SetTarget"/>).</summary>
        public ulong To => (ulong)Interlocked.Read(ref _to);

        /// <summary>The proxy port the connection came in on.</summary>
        public int RoutePort { get; } = routePort;

        public void Identify(ulong from, ulong to)
        {
            if (from != 0)
                Interlocked.Exchange(ref _from, (long)from);
            if (to != 0)
                Interlocked.Exchange(ref _to, (long)to);
        }

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
