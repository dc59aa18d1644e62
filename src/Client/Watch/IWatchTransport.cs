using Etcdserverpb;

namespace Cairn.Client;

/// <summary>Opens watch streams; the seam where tests substitute a scripted stream for gRPC.</summary>
internal interface IWatchTransport
{
    /// <summary>Starts a Watch stream to <paramref name="endpoint"/>. Connection failures may surface here or on the first read/write.</summary>
    IWatchConnection Open(Endpoint endpoint, bool requireLeader);

    /// <summary>
    /// True when the endpoint answers a cheap call within <paramref name="timeout"/>: the member is
    /// alive even if its watch stream is quiet (e.g. a watcher catching up on a long history).
    /// </summary>
    Task<bool> PingAsync(Endpoint endpoint, TimeSpan timeout);
}

/// <summary>One open Watch stream.</summary>
internal interface IWatchConnection : IDisposable
{
    /// <summary>Sends one request. One write at a time.</summary>
    Task WriteAsync(WatchRequest request, CancellationToken cancellationToken);

    /// <summary>The next response; null when the server ended the stream with OK. Throws on failure.</summary>
    ValueTask<WatchResponse?> ReadAsync(CancellationToken cancellationToken);

    /// <summary>Half-closes the request side (a polite end of the stream).</summary>
    void CompleteRequests();
}
