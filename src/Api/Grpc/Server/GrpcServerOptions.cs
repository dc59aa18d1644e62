namespace Cairn.Grpc;

/// <summary>Settings of the gRPC server layer.</summary>
public sealed class GrpcServerOptions
{
    /// <summary>
    /// Largest request message accepted, in bytes; a larger one ends the call with
    /// RESOURCE_EXHAUSTED before it is read. Default: etcd's 1.5 MiB request limit + 512 KiB.
    /// </summary>
    public int MaxReceiveMessageSize { get; set; } = GrpcProtocol.DefaultMaxReceiveMessageSize;
}
