namespace Cairn.Raft.Transport;

/// <summary>Limits and timings of a <see cref="PeerTransport"/>. Every queue and wait is bounded by one of these.</summary>
public sealed class PeerTransportOptions
{
    /// <summary>Most messages queued per peer before <see cref="PeerTransport.Send"/> drops. Default 4096.</summary>
    public int MaxQueuedMessages { get; init; } = 4096;

    /// <summary>Most payload bytes queued per peer before <see cref="PeerTransport.Send"/> drops. Default 64 MiB.</summary>
    public long MaxQueuedBytes { get; init; } = 64L << 20;

    /// <summary>Largest message or snapshot header accepted on the wire; a longer length prefix closes the connection. Default 64 MiB.</summary>
    public int MaxFrameSize { get; init; } = 64 << 20;

    /// <summary>First delay before reconnecting to a failed peer; doubles up to <see cref="MaxReconnectDelay"/>. Default 50 ms.</summary>
    public TimeSpan MinReconnectDelay { get; init; } = TimeSpan.FromMilliseconds(50);

    /// <summary>Cap of the reconnect backoff, so a dead peer costs at most one attempt per this interval. Default 1 s.</summary>
    public TimeSpan MaxReconnectDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Time allowed for TCP connect plus handshake. Default 1 s.</summary>
    public TimeSpan DialTimeout { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// A single socket write stalled longer than this (peer not reading, half-open connection) closes
    /// the connection and reports the peer unreachable. Default 5 s.
    /// </summary>
    public TimeSpan WriteTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>An inbound connection that does not complete its preamble within this is closed. Default 5 s.</summary>
    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Bytes of snapshot data per chunk (each chunk carries its own CRC). Default 64 KiB.</summary>
    public int SnapshotChunkSize { get; init; } = 64 << 10;

    /// <summary>Largest snapshot chunk a receiver accepts. Default 4 MiB.</summary>
    public int MaxSnapshotChunkSize { get; init; } = 4 << 20;

    /// <summary>A snapshot transfer where no chunk arrives for this long is aborted. Default 30 s.</summary>
    public TimeSpan SnapshotIdleTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Snapshots received at once; more are refused as busy (the sender retries later). Default 4.</summary>
    public int MaxConcurrentSnapshotReceives { get; init; } = 4;

    /// <summary>Largest request accepted on a request connection (<see cref="PeerTransport.SendRequestAsync"/>); answers are bounded by <see cref="MaxFrameSize"/>. Default 1 MiB.</summary>
    public int MaxRequestSize { get; init; } = 1 << 20;

    /// <summary>
    /// Time a receiver allows a request connection to deliver its request and its handler to answer;
    /// past it the connection is closed without an answer. Default 5 s.
    /// </summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Inbound connections open at once (handshaking, message streams and snapshots). Default 256.</summary>
    public int MaxInboundConnections { get; init; } = 256;

    /// <summary>
    /// Diagnostic sink (connection failures, refused handshakes, bad frames). Called from transport
    /// tasks; must be thread-safe and quick. Null discards.
    /// </summary>
    public Action<string>? Log { get; init; }

    internal void Validate()
    {
        if (MaxQueuedMessages < 1 || MaxQueuedBytes < 1 || MaxFrameSize < 1 || SnapshotChunkSize < 1
            || MaxSnapshotChunkSize < SnapshotChunkSize || MaxRequestSize < 1 || MaxConcurrentSnapshotReceives < 1 || MaxInboundConnections < 1)
        {
            throw new ArgumentException("PeerTransportOptions: sizes and counts must be positive, MaxSnapshotChunkSize >= SnapshotChunkSize");
        }

        if (MinReconnectDelay <= TimeSpan.Zero || MaxReconnectDelay < MinReconnectDelay || DialTimeout <= TimeSpan.Zero
            || WriteTimeout <= TimeSpan.Zero || HandshakeTimeout <= TimeSpan.Zero || RequestTimeout <= TimeSpan.Zero || SnapshotIdleTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentException("PeerTransportOptions: timings must be positive and MaxReconnectDelay >= MinReconnectDelay");
        }
    }
}
