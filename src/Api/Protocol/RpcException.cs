namespace Cairn.Protocol;

/// <summary>
/// A failed call: the gRPC status and the message a client sees (for etcd errors, etcd's exact
/// text, e.g. "etcdserver: mvcc: required revision has been compacted"). Every layer throws this
/// type; the gRPC layer turns it into <c>grpc-status</c> / <c>grpc-message</c>, and the client
/// turns those back into it.
/// </summary>
public class RpcException : Exception
{
    /// <summary>Creates the exception for a status and message.</summary>
    public RpcException(StatusCode status, string message) : base(message) => Status = status;

    /// <summary>Creates the exception for a status and message with an underlying cause.</summary>
    public RpcException(StatusCode status, string message, Exception inner) : base(message, inner) => Status = status;

    /// <summary>The gRPC status code.</summary>
    public StatusCode Status { get; }

    /// <inheritdoc />
    public override string ToString() => $"{Status}: {Message}";
}
