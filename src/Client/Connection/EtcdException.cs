using Cairn.Protocol;

namespace Cairn.Client;

/// <summary>
/// A failed etcd call: the gRPC status and the server's message (for etcd errors their exact text,
/// e.g. "etcdserver: mvcc: required revision has been compacted"), plus the endpoint that answered.
/// It is a <see cref="RpcException"/>, so code written against Cairn's protocol layer catches it too.
/// </summary>
public class EtcdException : RpcException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="status">The gRPC status.</param>
    /// <param name="message">The server's (or the transport's) message.</param>
    /// <param name="endpoint">The endpoint that failed the call, if known.</param>
    /// <param name="inner">The underlying cause, if any.</param>
    public EtcdException(StatusCode status, string message, string? endpoint = null, Exception? inner = null)
        : base(status, message, inner!) => Endpoint = endpoint;

    /// <summary>The endpoint (e.g. <c>http://127.0.0.1:2379/</c>) whose answer this is, if known.</summary>
    public string? Endpoint { get; }

    /// <summary>True for "required revision has been compacted".</summary>
    public bool IsCompacted => Message == EtcdErrors.CompactedMessage;

    /// <summary>True for "required revision is a future revision".</summary>
    public bool IsFutureRevision => Message == EtcdErrors.FutureRevMessage;

    /// <summary>True for "etcdserver: no leader".</summary>
    public bool IsNoLeader => Message == EtcdErrors.NoLeaderMessage;

    /// <summary>Wraps a transport-level <see cref="RpcException"/> with the endpoint that produced it.</summary>
    internal static EtcdException From(RpcException e, string? endpoint) =>
        e as EtcdException ?? new EtcdException(e.Status, e.Message, endpoint, e);

    /// <inheritdoc />
    public override string ToString() => Endpoint == null ? $"{Status}: {Message}" : $"{Status}: {Message} ({Endpoint})";
}
