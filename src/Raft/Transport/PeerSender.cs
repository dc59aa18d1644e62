using System.Buffers;
using System.Buffers.Binary;
using System.Net.Sockets;

namespace Cairn.Raft.Transport;

/// <summary>
/// The outbound half for one peer: a bounded queue filled by <see cref="PeerTransport.Send"/> and a
/// single writer task that owns the connection. One writer at a time (<c>_writing</c>), so
/// per-sender TCP order is the queue order.
/// </summary>
/// <remarks>
/// While the peer is unreachable (a dial failed or the connection broke, until the next dial
/// succeeds) nothing is queued: what was queued is dropped at the failure and later sends are
/// dropped at once, all counted. Delivering them after the link heals would hand the peer stale
/// messages (a forwarded proposal applied seconds after its client gave up, an old vote or
/// append); Raft retransmits whatever still matters, as it does for etcd, whose rafthttp drops
/// messages for a peer whose stream is down. Meanwhile the writer keeps dialing with backoff so
/// the link comes back without waiting for a send.
///
/// When the connection is up, idle and nothing is queued, <see cref="TryEnqueue"/> writes the frame
/// itself (an inline send): a non-blocking socket send on the caller's thread, instead of waking the
/// writer task on the thread pool. On a commit's critical path that hand-off was ~0.15 ms at the
/// median and milliseconds at p90 on a busy machine; a send the socket cannot finish at once
/// continues asynchronously and holds <c>_writing</c> until it completes.
/// </remarks>
internal sealed class PeerSender
{
    /// <summary>Frames are gathered into this buffer so a batch of small messages costs one send call.</summary>
    private const int WriteBufferSize = 256 << 10;

    private readonly PeerTransport _transport;
    private readonly PeerTransportOptions _options;
    private readonly object _gate = new();
    private readonly SemaphoreSlim _signal = new(0, 1);
    private readonly CancellationTokenSource _stop = new();

    // Guarded by _gate. Two queues swapped by the writer, so draining never holds the lock.
    private Queue<Outbound> _pending = new();
    private Queue<Outbound> _spare = new();
    private long _queuedBytes;
    private bool _closed;

    // Guarded by _gate for writes (so a send cannot slip into the queue after the failure discarded it).
    private volatile bool _unreachable;
    private CancellationTokenSource? _connection;
    private Socket? _socket; // the live connection's socket, for inline sends
    private bool _writing;   // the writer or an inline send is writing to _socket
    private bool _redial;    // inline sends went on a connection that ended: reconnect though nothing is queued
    private bool _sentInline; // an inline send used the current connection

    private IReadOnlyList<Uri> _urls;
    private volatile bool _resetRequested;
    private volatile bool _connected;
    private long _sent;
    private long _bytesSent;
    private long _dropped;
    private long _failures;
    private long _connections;
    private Task _loop = Task.CompletedTask;

    public PeerSender(PeerTransport transport, ulong id, IReadOnlyList<Uri> urls, PeerTransportOptions options)
    {
        _transport = transport;
        Id = id;
        _urls = urls;
        _options = options;
    }

    public ulong Id { get; }

    public IReadOnlyList<Uri> Urls => Volatile.Read(ref _urls);

    public Task Completion => _loop;

    public void Start() => _loop = Task.Run(RunAsync);

    /// <summary>
    /// Writes one message at once when the connection is idle (see the remarks on the type), else
    /// copies and queues it; false (and counted) when the peer is unreachable, the queue is full or
    /// the sender stopped.
    /// </summary>
    public bool TryEnqueue(ReadOnlySpan<byte> message, bool writeInline = true)
    {
        // Cheap early-out for the common "peer is down" case; re-checked under the lock.
        if (_unreachable || Volatile.Read(ref _queuedBytes) + message.Length > _options.MaxQueuedBytes)
        {
            Interlocked.Increment(ref _dropped);
            return false;
        }

        Socket? inlineSocket = null;
        CancellationTokenSource? inlineConnection = null;
        lock (_gate)
        {
            if (writeInline && !_closed && _pending.Count == 0 && !_writing && _socket is not null && _connection is not null)
            {
                _writing = true;
                _sentInline = true;
                inlineSocket = _socket;
                inlineConnection = _connection;
            }
        }

        if (inlineSocket is not null)
        {
            SendInline(inlineSocket, inlineConnection!, message);
            return true;
        }

        byte[] copy = ArrayPool<byte>.Shared.Rent(Math.Max(message.Length, 1));
        message.CopyTo(copy);
        lock (_gate)
        {
            if (!_closed && !_unreachable && _pending.Count < _options.MaxQueuedMessages && _queuedBytes + message.Length <= _options.MaxQueuedBytes)
            {
                _pending.Enqueue(new Outbound(copy, message.Length));
                Volatile.Write(ref _queuedBytes, _queuedBytes + message.Length);
                SignalWriter();
                return true;
            }
        }

        ArrayPool<byte>.Shared.Return(copy);
        Interlocked.Increment(ref _dropped);
        return false;
    }

    // Caller holds _gate. Only holders of _gate release the semaphore and only the writer takes it,
    // so checking CurrentCount here cannot race into a SemaphoreFullException.
    private void SignalWriter()
    {
        if (_signal.CurrentCount == 0)
        {
            _signal.Release();
        }
    }

    /// <summary>Writes one frame on the caller's thread; the caller set <c>_writing</c>, which this releases when the frame is out (or lost).</summary>
    private void SendInline(Socket socket, CancellationTokenSource connection, ReadOnlySpan<byte> message)
    {
        int length = WireFormat.FrameHeaderSize + message.Length;
        byte[] frame = ArrayPool<byte>.Shared.Rent(length);
        BinaryPrimitives.WriteInt32BigEndian(frame, message.Length);
        message.CopyTo(frame.AsSpan(WireFormat.FrameHeaderSize));
        ValueTask<int> send;
        try
        {
            // Without a token: a completed send allocates nothing; one that must wait is bounded below.
            send = socket.SendAsync(frame.AsMemory(0, length), SocketFlags.None);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            send = ValueTask.FromException<int>(e);
        }

        if (send.IsCompletedSuccessfully && send.Result == length)
        {
            EndInline(socket, frame, message.Length, written: true);
            return;
        }

        _ = FinishInlineAsync(send, socket, frame, length, connection);
    }

    // The rest of an inline send the socket could not take at once, under the usual write timeout.
    private async Task FinishInlineAsync(ValueTask<int> send, Socket socket, byte[] frame, int length, CancellationTokenSource connection)
    {
        bool written = false;
        try
        {
            using CancellationTokenRegistration abort = connection.Token.Register(static s => ((Socket)s!).Dispose(), socket);
            using var timeout = new CancellationTokenSource(_options.WriteTimeout);
            using CancellationTokenRegistration expire = timeout.Token.Register(static s => ((Socket)s!).Dispose(), socket);
            int n = await send.ConfigureAwait(false);
            await SocketIo.SendAllAsync(socket, frame.AsMemory(n, length - n), timeout.Token).ConfigureAwait(false);
            written = true;
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException)
        {
            // The writer sees the connection die (its watcher, or the disposed socket) and reconnects.
            CancelQuietly(connection);
        }
        finally
        {
            EndInline(socket, frame, length - WireFormat.FrameHeaderSize, written);
        }
    }

    private void EndInline(Socket socket, byte[] frame, int payload, bool written)
    {
        ArrayPool<byte>.Shared.Return(frame);
        if (written)
        {
            Interlocked.Increment(ref _sent);
            Interlocked.Add(ref _bytesSent, payload);
            Diagnostics.LatencyTrace.Mark(Diagnostics.TraceStage.FrameWritten, 0, Id);
        }
        else
        {
            Interlocked.Increment(ref _dropped);
        }

        lock (_gate)
        {
            _writing = false;

            // A failed socket takes no more inline sends: they queue, and queued messages are what
            // make the writer reconnect.
            if (!written && ReferenceEquals(_socket, socket))
            {
                _socket = null;
            }

            if (_pending.Count > 0)
            {
                SignalWriter();
            }
        }
    }

    private static void CancelQuietly(CancellationTokenSource connection)
    {
        try
        {
            connection.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The connection already ended.
        }
    }

    /// <summary>Counts a message refused before queueing (e.g. over the frame limit).</summary>
    public void CountDropped() => Interlocked.Increment(ref _dropped);

    /// <summary>Points the peer at new URLs; the current connection is closed so the next one uses them.</summary>
    public void UpdateUrls(IReadOnlyList<Uri> urls)
    {
        // Membership sync re-announces every peer after each conf change; an unchanged list must
        // not cost a reconnect (and the batch lost with it).
        if (Urls.SequenceEqual(urls))
        {
            return;
        }

        Volatile.Write(ref _urls, urls);
        _resetRequested = true;
        lock (_gate)
        {
            _connection?.Cancel();
        }
    }

    /// <summary>Stops the writer; queued messages are discarded. The returned task ends when the socket is closed.</summary>
    public Task StopAsync()
    {
        lock (_gate)
        {
            _closed = true;
        }

        _stop.Cancel();
        return _loop;
    }

    public PeerStats Snapshot(long received)
    {
        int queued;
        lock (_gate)
        {
            queued = _pending.Count;
        }

        return new PeerStats(
            Id,
            Interlocked.Read(ref _sent),
            Interlocked.Read(ref _bytesSent),
            Interlocked.Read(ref _dropped),
            queued,
            _connected,
            Interlocked.Read(ref _failures),
            received,
            Interlocked.Read(ref _connections));
    }

    private bool HasQueued
    {
        get
        {
            lock (_gate)
            {
                return _pending.Count > 0 || _redial;
            }
        }
    }

    private async Task RunAsync()
    {
        CancellationToken stop = _stop.Token;
        TimeSpan backoff = _options.MinReconnectDelay;
        byte[] writeBuffer = ArrayPool<byte>.Shared.Rent(WriteBufferSize);
        try
        {
            while (!stop.IsCancellationRequested)
            {
                // Connect lazily: a peer nobody sends to costs no connection and no reconnect attempts
                // (but one found unreachable is redialled until it answers, as its sends are being dropped).
                if (!HasQueued && !_unreachable)
                {
                    await _signal.WaitAsync(stop).ConfigureAwait(false);
                    continue;
                }

                _resetRequested = false;
                Socket socket;
                try
                {
                    socket = await _transport.DialAsync(Id, Urls, ConnectionKind.Messages, stop).ConfigureAwait(false);
                }
                catch (Exception e) when (!stop.IsCancellationRequested)
                {
                    Interlocked.Increment(ref _failures);
                    int stale = MarkUnreachable();
                    _transport.Log($"peer {Id:x}: connect failed: {e.Message}{DroppedNote(stale)}");
                    _transport.RaiseUnreachable(Id);
                    await Task.Delay(backoff, stop).ConfigureAwait(false);
                    backoff = Next(backoff);
                    continue;
                }

                lock (_gate)
                {
                    _unreachable = false;
                }

                Interlocked.Increment(ref _connections);
                long connectedAt = Environment.TickCount64;
                Exception? failure = await RunConnectionAsync(socket, writeBuffer, stop).ConfigureAwait(false);

                // Only a connection that lived a while earns a fast retry; one that the peer accepts
                // and drops at once (crashing handler, flapping link) keeps backing off like a refusal.
                if (Environment.TickCount64 - connectedAt >= _options.MaxReconnectDelay.TotalMilliseconds)
                {
                    backoff = _options.MinReconnectDelay;
                }

                if (stop.IsCancellationRequested)
                {
                    break;
                }

                if (_resetRequested)
                {
                    // UpdatePeer closed the connection on purpose: reconnect at once, nothing to report.
                    continue;
                }

                Interlocked.Increment(ref _failures);
                int dropped = MarkUnreachable();
                _transport.Log($"peer {Id:x}: connection lost: {failure?.Message ?? "closed by peer"}{DroppedNote(dropped)}");
                _transport.RaiseUnreachable(Id);
                await Task.Delay(backoff, stop).ConfigureAwait(false);
                backoff = Next(backoff);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(writeBuffer);
            DiscardQueue();
        }
    }

    private TimeSpan Next(TimeSpan backoff)
    {
        TimeSpan doubled = backoff * 2;
        return doubled > _options.MaxReconnectDelay ? _options.MaxReconnectDelay : doubled;
    }

    /// <summary>Pumps the queue into one established connection until it fails; returns why it ended.</summary>
    private async Task<Exception?> RunConnectionAsync(Socket socket, byte[] writeBuffer, CancellationToken stop)
    {
        using var connection = CancellationTokenSource.CreateLinkedTokenSource(stop);
        lock (_gate)
        {
            _connection = connection;
            _socket = socket;
        }

        if (_resetRequested)
        {
            connection.Cancel();
        }

        _connected = true;
        Task watcher = WatchForCloseAsync(socket, connection);
        Exception? failure = null;
        try
        {
            await PumpAsync(socket, writeBuffer, connection).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            failure = e is OperationCanceledException && !stop.IsCancellationRequested && !_resetRequested
                ? new IOException("connection closed by peer or write timed out", e)
                : e;
        }
        finally
        {
            _connected = false;
            lock (_gate)
            {
                _connection = null;
                _socket = null;

                // Had these messages been queued, the writer would reconnect to retry them; sent
                // inline on a connection now gone they may be lost just the same, so reconnect.
                _redial = _sentInline;
                _sentInline = false;
            }

            connection.Cancel();
            socket.Dispose();
            await watcher.ConfigureAwait(false);
        }

        return failure;
    }

    private async Task PumpAsync(Socket socket, byte[] buffer, CancellationTokenSource connection)
    {
        while (true)
        {
            Queue<Outbound>? batch = null;
            lock (_gate)
            {
                // While an inline send is writing, its end signals us if anything was queued meanwhile.
                if (!_writing && _pending.Count > 0)
                {
                    batch = _pending;
                    _pending = _spare;
                    _spare = batch;
                    Volatile.Write(ref _queuedBytes, 0);
                    _writing = true;
                }
            }

            if (batch is null)
            {
                await _signal.WaitAsync(connection.Token).ConfigureAwait(false);
                continue;
            }

            try
            {
                await WriteBatchAsync(socket, batch, buffer, connection).ConfigureAwait(false);
            }
            finally
            {
                lock (_gate)
                {
                    _writing = false;
                }
            }
        }
    }

    /// <summary>Writes every queued message, gathering frames so a batch is usually one send call.</summary>
    private async Task WriteBatchAsync(Socket socket, Queue<Outbound> batch, byte[] buffer, CancellationTokenSource connection)
    {
        int count = batch.Count;
        long bytes = 0;
        bool written = false;
        try
        {
            int used = 0;
            foreach (Outbound m in batch)
            {
                bytes += m.Length;
                int frame = WireFormat.FrameHeaderSize + m.Length;
                if (used + frame > buffer.Length && used > 0)
                {
                    await SendAsync(socket, buffer.AsMemory(0, used), connection).ConfigureAwait(false);
                    used = 0;
                }

                BinaryPrimitives.WriteInt32BigEndian(buffer.AsSpan(used), m.Length);
                if (frame <= buffer.Length)
                {
                    m.Buffer.AsSpan(0, m.Length).CopyTo(buffer.AsSpan(used + WireFormat.FrameHeaderSize));
                    used += frame;
                }
                else
                {
                    // A message larger than the gather buffer goes out straight from its own copy.
                    await SendAsync(socket, buffer.AsMemory(0, WireFormat.FrameHeaderSize), connection).ConfigureAwait(false);
                    await SendAsync(socket, m.Buffer.AsMemory(0, m.Length), connection).ConfigureAwait(false);
                }
            }

            if (used > 0)
            {
                await SendAsync(socket, buffer.AsMemory(0, used), connection).ConfigureAwait(false);
            }

            written = true;
            Diagnostics.LatencyTrace.Mark(Diagnostics.TraceStage.FrameWritten, 0, Id);
        }
        finally
        {
            if (written)
            {
                Interlocked.Add(ref _sent, count);
                Interlocked.Add(ref _bytesSent, bytes);
            }
            else
            {
                // Part of the batch may have reached the peer; Raft cannot tell either, so count it lost.
                Interlocked.Add(ref _dropped, count);
            }

            foreach (Outbound m in batch)
            {
                ArrayPool<byte>.Shared.Return(m.Buffer);
            }

            batch.Clear();
        }
    }

    private async Task SendAsync(Socket socket, ReadOnlyMemory<byte> data, CancellationTokenSource connection)
    {
        // The write timeout is the connection token itself: a stalled write tears the connection down.
        connection.CancelAfter(_options.WriteTimeout);
        await SocketIo.SendAllAsync(socket, data, connection.Token).ConfigureAwait(false);
        connection.CancelAfter(Timeout.Infinite);
    }

    /// <summary>
    /// The receiver never writes on a message connection after the handshake, so any read completing
    /// means it closed (or reset) the connection; that ends the connection promptly even while idle.
    /// </summary>
    private static async Task WatchForCloseAsync(Socket socket, CancellationTokenSource connection)
    {
        byte[] one = new byte[1];
        try
        {
            await socket.ReceiveAsync(one, SocketFlags.None, connection.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException)
        {
        }

        try
        {
            connection.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private static string DroppedNote(int dropped) => dropped == 0 ? "" : $"; dropped {dropped} queued messages";

    /// <summary>Enters the unreachable state: drops (and counts) the queue; returns how many messages that was.</summary>
    private int MarkUnreachable()
    {
        lock (_gate)
        {
            _unreachable = true;
            return DiscardPendingLocked();
        }
    }

    private void DiscardQueue()
    {
        lock (_gate)
        {
            _closed = true;
            DiscardPendingLocked();
        }
    }

    private int DiscardPendingLocked()
    {
        int count = _pending.Count;
        Interlocked.Add(ref _dropped, count);
        foreach (Outbound m in _pending)
        {
            ArrayPool<byte>.Shared.Return(m.Buffer);
        }

        _pending.Clear();
        Volatile.Write(ref _queuedBytes, 0);
        return count;
    }

    private readonly record struct Outbound(byte[] Buffer, int Length);
}
