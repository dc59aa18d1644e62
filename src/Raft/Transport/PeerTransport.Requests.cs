using System.Net.Sockets;

namespace Cairn.Raft.Transport;

public sealed partial class PeerTransport
{
    /// <summary>
    /// Answers <see cref="SendRequestAsync"/> from other members of the cluster: called with (sender
    /// id, request bytes, cancellation) and returns the answer bytes. Both are opaque to the
    /// transport, so the member above decides what a request means (e.g. a lease renewal forwarded
    /// to the leader). Runs on a transport task, concurrently for concurrent requests, and must
    /// finish within <see cref="PeerTransportOptions.RequestTimeout"/> (the token is cancelled then);
    /// throwing closes the connection without an answer. Null refuses request connections.
    /// </summary>
    public Func<ulong, ReadOnlyMemory<byte>, CancellationToken, Task<byte[]>>? RequestHandler { get; set; }

    /// <summary>
    /// Sends one request to a known peer over a connection of its own and returns the peer's
    /// answer (what its <see cref="RequestHandler"/> returned). One connection per request keeps
    /// the message stream free of request traffic and needs no matching of answers to requests;
    /// its cost (a loopback or LAN connect) is small next to the requests it is meant for, which
    /// come at most a few times a second per lease.
    /// </summary>
    /// <param name="to">The peer's member id (added with <see cref="AddPeer"/>).</param>
    /// <param name="request">The request bytes (at most <see cref="PeerTransportOptions.MaxRequestSize"/>).</param>
    /// <param name="cancellationToken">Aborts the request.</param>
    /// <returns>The answer's bytes.</returns>
    /// <exception cref="IOException">
    /// The peer is unknown, unreachable or refused the connection, the handler failed (closed
    /// without an answer), the answer was oversized, or no answer came within the dial timeout
    /// plus the request timeout plus the write timeout.
    /// </exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<byte[]> SendRequestAsync(ulong to, ReadOnlyMemory<byte> request, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (request.Length > _options.MaxRequestSize)
        {
            throw new ArgumentException($"request of {request.Length} bytes exceeds the {_options.MaxRequestSize}-byte limit", nameof(request));
        }

        if (!_peers.TryGetValue(to, out PeerSender? peer))
        {
            throw new IOException($"request to {to:x}: unknown peer");
        }

        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stopping.Token);
        linked.CancelAfter(_options.DialTimeout + _options.RequestTimeout + _options.WriteTimeout);
        CancellationToken ct = linked.Token;
        Socket? socket = null;
        try
        {
            socket = await DialAsync(to, peer.Urls, ConnectionKind.Request, ct).ConfigureAwait(false);
            await SocketIo.SendFrameAsync(socket, request, ct).ConfigureAwait(false);
            return await SocketIo.ReceiveFrameAsync(socket, _options.MaxFrameSize, "answer", ct).ConfigureAwait(false)
                ?? throw new IOException($"request to {to:x}: closed without an answer");
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (OperationCanceledException)
        {
            throw new IOException($"request to {to:x}: {(_stopping.IsCancellationRequested ? "transport stopped" : "timed out")}");
        }
        catch (Exception e) when (e is SocketException or InvalidDataException or ObjectDisposedException)
        {
            throw new IOException($"request to {to:x}: {e.Message}", e);
        }
        finally
        {
            socket?.Dispose();
        }
    }
}
