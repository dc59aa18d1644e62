using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Text;

namespace Cairn.Raft.Transport;

/// <summary>
/// Carries Raft messages and snapshots between the members of one cluster over plain TCP.
/// </summary>
/// <remarks>
/// <para><b>Why plain TCP and not HTTP/2 (etcd's rafthttp uses HTTP).</b> Raft traffic is a steady
/// stream of small messages (heartbeats, appends, votes) between a handful of fixed peers. One
/// long-lived TCP connection per peer and direction makes a message cost a single buffered write
/// on one side and a single read on the other; there is nothing HTTP would add (no routing, no
/// proxies, no content negotiation), while its framing, flow control and header work would sit on
/// the latency path of every heartbeat. The peer URLs keep etcd's <c>http://host:port</c> shape
/// so flags and membership records stay compatible, but the bytes are our own protocol, described
/// in <see cref="WireFormat"/>: a 32-byte preamble (magic, version, connection kind, cluster id,
/// sender id, addressed member id) answered by a status byte, then length-prefixed frames.</para>
/// <para><b>Opaque payloads.</b> The transport never looks inside a message; the core's codec
/// encodes and decodes. That keeps this layer testable alone and the codec free to change.</para>
/// <para><b>Sending.</b> <see cref="Send"/> copies the message into a pooled buffer, appends it to
/// the peer's bounded queue and returns: it never blocks and never throws for network reasons.
/// Each peer has one writer task that connects lazily, reconnects with capped exponential backoff,
/// and writes everything queued as one gathered write. A full queue drops the message and counts
/// it — Raft retransmits, so losing a message to a slow or dead peer is always preferable to
/// stalling the core or the other peers. A failed dial or broken connection drops the queue, and
/// sends are dropped until a dial succeeds again, so a healed link never delivers stale messages. A dial or connection failure raises
/// <see cref="PeerUnreachable"/> so the member can call the core's ReportUnreachable.</para>
/// <para><b>Receiving.</b> The message handler runs on the read loop of the inbound connection:
/// calls for one sender are sequential and in that sender's order; calls for different senders
/// may run concurrently on thread-pool threads, so the handler must be thread-safe. (When a sender
/// reconnects, its old connection is closed and delivers nothing more, but a call already running
/// on it may overlap the first calls of the new one.) The memory it
/// receives points into the connection's receive buffer and is valid only during the call — copy
/// (or decode) before returning. This is the cheaper contract for the common case, where the core
/// decodes each message at once into its own objects. A handler that blocks stalls only that
/// sender's connection (TCP back-pressure then fills that sender's queue on the other side), but
/// it also holds a thread-pool thread, so the intended handler decodes and hands the message to
/// the core's own queue without waiting.</para>
/// <para><b>Membership.</b> Only peers added with <see cref="AddPeer"/> can be sent to. Inbound
/// connections are accepted from any member id of the same cluster (a member that joined before
/// this one applied the conf change must still be heard), except ids removed with
/// <see cref="RemovePeer"/>, which are refused until added again.</para>
/// <para><b>Snapshots</b> travel on a dedicated connection per transfer, in CRC-checked chunks, so
/// a multi-megabyte snapshot never sits in front of heartbeats on the message connection.</para>
/// <para><b>Shutdown.</b> <see cref="DisposeAsync"/> closes the listener and every socket and waits
/// at most about a second for the transport's tasks; a handler still blocked after that is abandoned.</para>
/// </remarks>
public sealed partial class PeerTransport : IAsyncDisposable
{
    private static readonly TimeSpan ShutdownWait = TimeSpan.FromSeconds(1);

    private readonly PeerTransportOptions _options;
    private readonly Socket _listener;
    private readonly CancellationTokenSource _stopping = new();
    private readonly object _membership = new();
    private readonly ConcurrentDictionary<ulong, PeerSender> _peers = new();
    private readonly ConcurrentDictionary<ulong, byte> _removed = new();
    private readonly ConcurrentDictionary<InboundConnection, Task> _inbound = new();
    private readonly ConcurrentDictionary<ulong, InboundConnection> _streams = new();
    private readonly ConcurrentDictionary<ulong, StrongBox<long>> _received = new();
    private readonly Task _acceptLoop;
    private int _inboundCount;
    private int _snapshotReceives;
    private long _droppedUnknown;
    private int _disposed;

    /// <summary>Starts listening on <paramref name="listenUrl"/> and accepting peer connections.</summary>
    /// <param name="localId">This member's id; sent in every preamble and required in every inbound one.</param>
    /// <param name="clusterId">The cluster id; connections carrying another one are refused both ways.</param>
    /// <param name="listenUrl">etcd-style peer URL to bind, e.g. <c>http://127.0.0.1:2380</c>; port 0 picks a free port (see <see cref="ListenUrl"/>).</param>
    /// <param name="onMessage">
    /// Called with (sender id, encoded message) for each message received. Runs on the sender's
    /// connection read loop; sequential per sender, concurrent across senders. The memory is valid
    /// only during the call. Exceptions are logged and the message is treated as lost.
    /// </param>
    /// <param name="onSnapshot">
    /// Called with (sender id, header, data, cancellation) for each incoming snapshot, on a
    /// thread-pool thread; null refuses snapshots. The data stream yields only CRC-verified bytes
    /// and throws <see cref="InvalidDataException"/> on a corrupt chunk; read it to its end before
    /// acting on it. Completing normally tells the sender the snapshot was applied; throwing tells
    /// it the transfer failed.
    /// </param>
    /// <param name="options">Limits and timings; defaults when null.</param>
    /// <exception cref="NotSupportedException">The URL is https (peer TLS is not implemented).</exception>
    /// <exception cref="SocketException">The address cannot be bound.</exception>
    public PeerTransport(
        ulong localId,
        ulong clusterId,
        Uri listenUrl,
        Action<ulong, ReadOnlyMemory<byte>> onMessage,
        Func<ulong, ReadOnlyMemory<byte>, Stream, CancellationToken, Task>? onSnapshot = null,
        PeerTransportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(onMessage);
        if (localId == 0)
        {
            throw new ArgumentException("member id 0 is reserved (Raft's 'none')", nameof(localId));
        }

        _options = options ?? new PeerTransportOptions();
        _options.Validate();
        LocalId = localId;
        ClusterId = clusterId;
        MessageHandler = onMessage;
        SnapshotHandler = onSnapshot;

        IPEndPoint bind = PeerUrl.ToListenEndPoint(listenUrl);
        _listener = new Socket(bind.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            _listener.Bind(bind);
            _listener.Listen(512);
        }
        catch
        {
            _listener.Dispose();
            throw;
        }

        ListenEndPoint = (IPEndPoint)_listener.LocalEndPoint!;
        ListenUrl = new UriBuilder(Uri.UriSchemeHttp, ListenEndPoint.Address.ToString(), ListenEndPoint.Port).Uri;
        _acceptLoop = Task.Run(AcceptLoopAsync);
    }

    /// <summary>
    /// Raised with a peer's id when connecting to it fails or its connection breaks — at most once
    /// per attempt, and attempts are spaced by the reconnect backoff. Runs on that peer's writer
    /// task: handlers must be quick and must not throw (exceptions are logged and ignored).
    /// </summary>
    public event Action<ulong>? PeerUnreachable;

    /// <summary>This member's id.</summary>
    public ulong LocalId { get; }

    /// <summary>The cluster id this transport accepts.</summary>
    public ulong ClusterId { get; }

    /// <summary>The bound listen address (with the actual port when 0 was asked for).</summary>
    public IPEndPoint ListenEndPoint { get; }

    /// <summary><see cref="ListenEndPoint"/> as a peer URL, e.g. to advertise in tests.</summary>
    public Uri ListenUrl { get; }

    /// <summary>Messages passed to <see cref="Send"/> for a peer that is not (or no longer) known.</summary>
    public long DroppedToUnknownPeers => Interlocked.Read(ref _droppedUnknown);

    internal Action<ulong, ReadOnlyMemory<byte>> MessageHandler { get; }

    internal Func<ulong, ReadOnlyMemory<byte>, Stream, CancellationToken, Task>? SnapshotHandler { get; }

    /// <summary>
    /// Answers <see cref="FetchClusterInfoAsync"/> from members that do not know the cluster id yet
    /// (etcd's joiners ask an existing member for the cluster id and member list the same way,
    /// over its peer port). The bytes are opaque to the transport; null refuses such requests.
    /// Called on a transport task; must be thread-safe and quick.
    /// </summary>
    public Func<ReadOnlyMemory<byte>>? ClusterInfoProvider { get; set; }

    /// <summary>
    /// Asks the member listening on <paramref name="peerUrl"/> for its cluster info (what its
    /// <see cref="ClusterInfoProvider"/> returns), without knowing the cluster id.
    /// </summary>
    /// <param name="peerUrl">A peer URL of an existing member.</param>
    /// <param name="localId">The asking member's id (for the receiver's log).</param>
    /// <param name="options">Limits and timings (dial timeout, frame limit); defaults when null.</param>
    /// <param name="cancellationToken">Aborts the request.</param>
    /// <returns>The answer's bytes.</returns>
    /// <exception cref="IOException">Unreachable, refused, or the answer was cut short or oversized.</exception>
    public static async Task<byte[]> FetchClusterInfoAsync(Uri peerUrl, ulong localId, PeerTransportOptions? options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(peerUrl);
        options ??= new PeerTransportOptions();
        options.Validate();
        byte[] preamble = new byte[WireFormat.PreambleSize];
        WireFormat.WritePreamble(preamble, ConnectionKind.ClusterInfo, 0, localId, 0);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.DialTimeout + options.WriteTimeout);
        try
        {
            using Socket socket = await HandshakeAsync(peerUrl, preamble, options.DialTimeout, cancellationToken).ConfigureAwait(false);
            return await SocketIo.ReceiveFrameAsync(socket, options.MaxFrameSize, "cluster-info answer", timeout.Token).ConfigureAwait(false)
                ?? throw new IOException("closed without an answer");
        }
        catch (InvalidDataException e)
        {
            throw new IOException(e.Message, e);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new IOException("timed out");
        }
        catch (SocketException e)
        {
            throw new IOException(e.Message, e);
        }
    }

    /// <summary>
    /// Makes a peer known so <see cref="Send"/> and <see cref="SendSnapshotAsync"/> can reach it.
    /// No connection is opened until something is sent. Adding a known peer updates its URLs.
    /// </summary>
    /// <param name="id">The peer's member id (not this member's).</param>
    /// <param name="urls">Its peer URLs, tried in order on each connection attempt.</param>
    public void AddPeer(ulong id, IReadOnlyList<Uri> urls)
    {
        Uri[] checkedUrls = CheckPeer(id, urls);
        lock (_membership)
        {
            ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
            _removed.TryRemove(id, out _);
            if (_peers.TryGetValue(id, out PeerSender? existing))
            {
                existing.UpdateUrls(checkedUrls);
                return;
            }

            var sender = new PeerSender(this, id, checkedUrls, _options);
            _peers[id] = sender;
            sender.Start();
        }
    }

    /// <summary>
    /// Replaces a peer's URLs; when they differ from the current ones, its connection is
    /// re-established on the new ones (an identical list changes nothing). False when the peer is unknown.
    /// </summary>
    /// <param name="id">The peer's member id.</param>
    /// <param name="urls">Its new peer URLs.</param>
    public bool UpdatePeer(ulong id, IReadOnlyList<Uri> urls)
    {
        Uri[] checkedUrls = CheckPeer(id, urls);
        lock (_membership)
        {
            if (!_peers.TryGetValue(id, out PeerSender? sender))
            {
                return false;
            }

            sender.UpdateUrls(checkedUrls);
            return true;
        }
    }

    /// <summary>
    /// Forgets a peer: its queue is discarded, its connections (both directions) are closed, and
    /// further connections from it are refused until it is added again. False when it was unknown.
    /// </summary>
    /// <param name="id">The peer's member id.</param>
    public bool RemovePeer(ulong id)
    {
        PeerSender? sender;
        lock (_membership)
        {
            _removed[id] = 0;
            if (!_peers.TryRemove(id, out sender))
            {
                return false;
            }
        }

        _ = sender.StopAsync();
        if (_streams.TryRemove(id, out InboundConnection? stream))
        {
            stream.Abort();
        }

        _received.TryRemove(id, out _);
        return true;
    }

    /// <summary>
    /// Queues one encoded message for a peer and returns at once. The bytes are copied, so the
    /// caller may reuse <paramref name="message"/> as soon as this returns. Never blocks and never
    /// throws for network reasons.
    /// </summary>
    /// <param name="to">The destination member id.</param>
    /// <param name="message">The encoded message (at most <see cref="PeerTransportOptions.MaxFrameSize"/> bytes).</param>
    /// <param name="writeInline">
    /// Whether an idle connection with nothing queued may be written on the calling thread (one
    /// non-blocking send, saving the hand-off to the peer's writer task); false for a caller with
    /// other work waiting, so the writer's thread sends in parallel.
    /// </param>
    /// <returns>
    /// True when queued. False when dropped: unknown peer, peer unreachable (its last dial failed or
    /// its connection broke, until a dial succeeds), queue full (peer slow), oversized message, or
    /// transport disposed. Queued messages are dropped too when the connection fails, never
    /// delivered late after a heal; Raft's retransmission covers all of these.
    /// </returns>
    public bool Send(ulong to, ReadOnlyMemory<byte> message, bool writeInline = true)
    {
        if (!_peers.TryGetValue(to, out PeerSender? sender))
        {
            Interlocked.Increment(ref _droppedUnknown);
            return false;
        }

        if (message.Length > _options.MaxFrameSize)
        {
            // The receiver would close the connection on this frame; refusing here keeps it open.
            sender.CountDropped();
            Log($"peer {to:x}: dropped a {message.Length}-byte message over the {_options.MaxFrameSize}-byte frame limit");
            return false;
        }

        return sender.TryEnqueue(message.Span, writeInline);
    }

    /// <summary>
    /// Streams a snapshot to a peer over a dedicated connection, in CRC-checked chunks, and waits
    /// for the receiver's verdict. Message traffic to the same peer continues meanwhile.
    /// </summary>
    /// <param name="to">The destination member id.</param>
    /// <param name="snapshot">The snapshot data, read from its current position to its end; not disposed.</param>
    /// <param name="header">Encoded metadata for the receiver's handler (e.g. the MsgSnap message).</param>
    /// <param name="cancellationToken">Aborts the transfer (the receiver sees a broken stream).</param>
    /// <returns>Completes when the receiver's handler returned successfully after reading the whole snapshot.</returns>
    /// <exception cref="SnapshotTransferException">The peer is unknown, unreachable or refused, the connection broke, or the receiver rejected the data.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task SendSnapshotAsync(ulong to, Stream snapshot, ReadOnlyMemory<byte> header, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (header.Length > _options.MaxFrameSize)
        {
            throw new ArgumentException($"snapshot header of {header.Length} bytes exceeds the {_options.MaxFrameSize}-byte frame limit", nameof(header));
        }

        if (!_peers.TryGetValue(to, out PeerSender? peer))
        {
            throw new SnapshotTransferException($"snapshot to {to:x}: unknown peer");
        }

        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stopping.Token);
        CancellationToken ct = linked.Token;
        byte[] buffer = ArrayPool<byte>.Shared.Rent(WireFormat.ChunkHeaderSize + _options.SnapshotChunkSize);
        Socket? socket = null;
        try
        {
            socket = await DialAsync(to, peer.Urls, ConnectionKind.Snapshot, ct).ConfigureAwait(false);

            BinaryPrimitives.WriteInt32BigEndian(buffer, header.Length);
            await SendWithIdleTimeoutAsync(socket, buffer.AsMemory(0, WireFormat.FrameHeaderSize), ct).ConfigureAwait(false);
            await SendWithIdleTimeoutAsync(socket, header, ct).ConfigureAwait(false);

            while (true)
            {
                int n = await FillAsync(snapshot, buffer.AsMemory(WireFormat.ChunkHeaderSize, _options.SnapshotChunkSize), ct).ConfigureAwait(false);
                BinaryPrimitives.WriteInt32BigEndian(buffer, n);
                BinaryPrimitives.WriteUInt32BigEndian(buffer.AsSpan(4), n == 0 ? 0 : WireFormat.Crc32C(buffer.AsSpan(WireFormat.ChunkHeaderSize, n)));
                await SendWithIdleTimeoutAsync(socket, buffer.AsMemory(0, WireFormat.ChunkHeaderSize + n), ct).ConfigureAwait(false);
                if (n == 0)
                {
                    break;
                }
            }

            // The verdict comes after the receiver's handler has run, which may take a while; only
            // the caller's token bounds that wait.
            byte[] reply = new byte[3];
            if (!await SocketIo.ReceiveExactlyAsync(socket, reply, ct).ConfigureAwait(false))
            {
                throw new SnapshotTransferException($"snapshot to {to:x}: peer closed the connection without a verdict");
            }

            var result = (SnapshotResult)reply[0];
            int reasonLength = Math.Min((int)BinaryPrimitives.ReadUInt16BigEndian(reply.AsSpan(1)), WireFormat.MaxReasonBytes);
            byte[] reason = new byte[reasonLength];
            if (reasonLength > 0)
            {
                await SocketIo.ReceiveExactlyAsync(socket, reason, ct).ConfigureAwait(false);
            }

            if (result != SnapshotResult.Applied)
            {
                throw new SnapshotTransferException($"snapshot to {to:x} rejected by the peer ({result}): {Encoding.UTF8.GetString(reason)}");
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception e) when (e is SocketException or IOException or ObjectDisposedException or OperationCanceledException && e is not SnapshotTransferException)
        {
            throw new SnapshotTransferException($"snapshot to {to:x} failed: {e.Message}", e);
        }
        finally
        {
            socket?.Dispose();
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Reads until <paramref name="buffer"/> is full or the stream ends, so every chunk but the last is full-size.</summary>
    private static async Task<int> FillAsync(Stream stream, Memory<byte> buffer, CancellationToken ct)
    {
        int filled = 0;
        while (filled < buffer.Length)
        {
            int n = await stream.ReadAsync(buffer[filled..], ct).ConfigureAwait(false);
            if (n == 0)
            {
                break;
            }

            filled += n;
        }

        return filled;
    }

    /// <summary>A snapshot write that makes no progress for the idle timeout aborts the transfer instead of hanging.</summary>
    private async Task SendWithIdleTimeoutAsync(Socket socket, ReadOnlyMemory<byte> data, CancellationToken ct)
    {
        using var idle = CancellationTokenSource.CreateLinkedTokenSource(ct);
        idle.CancelAfter(_options.SnapshotIdleTimeout);
        try
        {
            await SocketIo.SendAllAsync(socket, data, idle.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new IOException($"no progress for {_options.SnapshotIdleTimeout.TotalSeconds:0.#} s");
        }
    }

    /// <summary>Counters of one peer, or null when it is unknown.</summary>
    /// <param name="id">The peer's member id.</param>
    public PeerStats? GetPeerStats(ulong id)
        => _peers.TryGetValue(id, out PeerSender? sender) ? sender.Snapshot(ReceivedFrom(id)) : null;

    /// <summary>Counters of every known peer, ordered by id.</summary>
    public IReadOnlyList<PeerStats> GetStats()
        => _peers.Values.OrderBy(p => p.Id).Select(p => p.Snapshot(ReceivedFrom(p.Id))).ToArray();

    /// <summary>
    /// Closes the listener and every connection, discards queued messages, and waits up to about
    /// one second for the transport's tasks (a message or snapshot handler that is still blocked
    /// after that is abandoned, its socket already closed).
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _stopping.Cancel();
        _listener.Dispose();
        var tasks = new List<Task> { _acceptLoop };
        lock (_membership)
        {
            foreach (PeerSender sender in _peers.Values)
            {
                tasks.Add(sender.StopAsync());
            }

            _peers.Clear();
        }

        foreach (KeyValuePair<InboundConnection, Task> inbound in _inbound)
        {
            inbound.Key.Abort();
            tasks.Add(inbound.Value);
        }

        Task all = Task.WhenAll(tasks);
        await Task.WhenAny(all, Task.Delay(ShutdownWait)).ConfigureAwait(false);
        if (all.IsCompleted)
        {
            _stopping.Dispose();
        }
    }

    internal void Log(string message)
    {
        Action<string>? log = _options.Log;
        if (log is null)
        {
            return;
        }

        try
        {
            log($"[transport {LocalId:x}] {message}");
        }
        catch (Exception)
        {
            // Diagnostics must never take the transport down.
        }
    }

    internal void RaiseUnreachable(ulong peer)
    {
        Action<ulong>? handler = PeerUnreachable;
        if (handler is null)
        {
            return;
        }

        try
        {
            handler(peer);
        }
        catch (Exception e)
        {
            Log($"PeerUnreachable handler threw: {e}");
        }
    }

    /// <summary>Connects to the first reachable URL of a peer and completes the handshake within the dial timeout.</summary>
    internal async Task<Socket> DialAsync(ulong to, IReadOnlyList<Uri> urls, ConnectionKind kind, CancellationToken ct)
    {
        byte[] preamble = new byte[WireFormat.PreambleSize];
        WireFormat.WritePreamble(preamble, kind, ClusterId, LocalId, to);
        var errors = new List<string>(urls.Count);
        foreach (Uri url in urls)
        {
            try
            {
                return await HandshakeAsync(url, preamble, _options.DialTimeout, ct).ConfigureAwait(false);
            }
            catch (IOException e) when (!ct.IsCancellationRequested)
            {
                errors.Add($"{url}: {e.Message}");
            }
        }

        throw new IOException(string.Join("; ", errors));
    }

    /// <summary>Connects to one URL, sends the preamble and reads an Accepted status within <paramref name="dialTimeout"/>.</summary>
    /// <exception cref="IOException">Unreachable, timed out or refused (unless <paramref name="ct"/> was cancelled).</exception>
    private static async Task<Socket> HandshakeAsync(Uri url, byte[] preamble, TimeSpan dialTimeout, CancellationToken ct)
    {
        EndPoint endPoint = PeerUrl.ToDialEndPoint(url);
        Socket socket = endPoint is IPEndPoint ip
            ? new Socket(ip.AddressFamily, SocketType.Stream, ProtocolType.Tcp)
            : new Socket(SocketType.Stream, ProtocolType.Tcp);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(dialTimeout);
        byte[] status = new byte[1];
        try
        {
            SocketIo.ConfigureForPeer(socket);
            await socket.ConnectAsync(endPoint, timeout.Token).ConfigureAwait(false);
            await SocketIo.SendAllAsync(socket, preamble, timeout.Token).ConfigureAwait(false);
            if (!await SocketIo.ReceiveExactlyAsync(socket, status, timeout.Token).ConfigureAwait(false))
            {
                throw new IOException("connection closed during the handshake");
            }

            if ((HandshakeStatus)status[0] != HandshakeStatus.Accepted)
            {
                throw new IOException($"refused: {WireFormat.Describe((HandshakeStatus)status[0])}");
            }

            return socket;
        }
        catch (Exception e) when (!ct.IsCancellationRequested && e is SocketException or IOException or OperationCanceledException)
        {
            socket.Dispose();
            throw e as IOException ?? new IOException(e is OperationCanceledException ? "timed out" : e.Message, e);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Decides the handshake answer for an inbound preamble; reserves a snapshot slot when one is accepted.</summary>
    internal HandshakeStatus Admit(byte version, ConnectionKind kind, ulong clusterId, ulong from, ulong to, out bool snapshotSlot)
    {
        snapshotSlot = false;
        if (version != WireFormat.Version || kind is not (ConnectionKind.Messages or ConnectionKind.Snapshot or ConnectionKind.ClusterInfo or ConnectionKind.Request))
        {
            return HandshakeStatus.UnsupportedVersion;
        }

        if (kind == ConnectionKind.ClusterInfo)
        {
            // The asker is joining and knows neither the cluster id nor this member's id yet.
            return ClusterInfoProvider is null ? HandshakeStatus.NoClusterInfo : HandshakeStatus.Accepted;
        }

        if (clusterId != ClusterId)
        {
            return HandshakeStatus.ClusterMismatch;
        }

        if (to != LocalId || from == LocalId || from == 0)
        {
            return HandshakeStatus.WrongMember;
        }

        if (_removed.ContainsKey(from))
        {
            return HandshakeStatus.MemberRemoved;
        }

        if (kind == ConnectionKind.Request && RequestHandler is null)
        {
            return HandshakeStatus.NoRequestHandler;
        }

        if (kind == ConnectionKind.Snapshot)
        {
            if (SnapshotHandler is null)
            {
                return HandshakeStatus.SnapshotsNotAccepted;
            }

            if (Interlocked.Increment(ref _snapshotReceives) > _options.MaxConcurrentSnapshotReceives)
            {
                Interlocked.Decrement(ref _snapshotReceives);
                return HandshakeStatus.Busy;
            }

            snapshotSlot = true;
        }

        return HandshakeStatus.Accepted;
    }

    internal void ReleaseSnapshotSlot() => Interlocked.Decrement(ref _snapshotReceives);

    /// <summary>
    /// Records the message stream of a sender, closing an older one: a peer that reconnected has
    /// abandoned its previous connection, which may be half-open and would otherwise linger.
    /// </summary>
    internal void RegisterStream(ulong from, InboundConnection connection)
    {
        InboundConnection? previous = null;
        _streams.AddOrUpdate(from, connection, (_, old) =>
        {
            previous = old;
            return connection;
        });
        if (previous is not null && previous != connection)
        {
            previous.Abort();
        }

        if (_removed.ContainsKey(from) && _streams.TryRemove(new KeyValuePair<ulong, InboundConnection>(from, connection)))
        {
            // RemovePeer ran between Admit and here.
            connection.Abort();
        }
    }

    internal void Forget(InboundConnection connection, ulong from)
    {
        _streams.TryRemove(new KeyValuePair<ulong, InboundConnection>(from, connection));
        if (_inbound.TryRemove(connection, out _))
        {
            Interlocked.Decrement(ref _inboundCount);
        }
    }

    internal StrongBox<long> ReceivedCounter(ulong from) => _received.GetOrAdd(from, _ => new StrongBox<long>());

    private long ReceivedFrom(ulong id) => _received.TryGetValue(id, out StrongBox<long>? box) ? Interlocked.Read(ref box.Value) : 0;

    private Uri[] CheckPeer(ulong id, IReadOnlyList<Uri> urls)
    {
        ArgumentNullException.ThrowIfNull(urls);
        if (id == 0 || id == LocalId)
        {
            throw new ArgumentException($"peer id {id:x} is reserved or this member's own id", nameof(id));
        }

        if (urls.Count == 0)
        {
            throw new ArgumentException($"peer {id:x} needs at least one URL", nameof(urls));
        }

        Uri[] copy = urls.ToArray();
        foreach (Uri url in copy)
        {
            _ = PeerUrl.ToDialEndPoint(url);
        }

        return copy;
    }

    private async Task AcceptLoopAsync()
    {
        CancellationToken stopping = _stopping.Token;
        while (!stopping.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptAsync(stopping).ConfigureAwait(false);
            }
            catch (Exception e) when (stopping.IsCancellationRequested || e is ObjectDisposedException)
            {
                return;
            }
            catch (SocketException e)
            {
                // Transient accept errors (e.g. out of descriptors) must not kill the listener; pause briefly.
                Log($"accept failed: {e.Message}");
                try
                {
                    await Task.Delay(_options.MinReconnectDelay, stopping).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                continue;
            }

            if (Interlocked.Increment(ref _inboundCount) > _options.MaxInboundConnections)
            {
                Interlocked.Decrement(ref _inboundCount);
                Log($"inbound {socket.RemoteEndPoint}: refused, {_options.MaxInboundConnections} connections already open");
                socket.Dispose();
                continue;
            }

            SocketIo.ConfigureForPeer(socket);
            var connection = new InboundConnection(this, socket, _options, stopping);
            var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Task run = Task.Run(async () =>
            {
                // Registered before it runs, so Forget in its finally always finds it.
                await start.Task.ConfigureAwait(false);
                await connection.RunAsync().ConfigureAwait(false);
            });
            _inbound[connection] = run;
            start.SetResult();
            if (Volatile.Read(ref _disposed) != 0)
            {
                connection.Abort();
            }
        }
    }
}
