namespace Cairn.Grpc;

/// <summary>
/// Names and limits of the gRPC-over-HTTP/2 protocol (grpc/grpc doc/PROTOCOL-HTTP2.md), shared by
/// the server and the client so both sides spell them the same way.
/// </summary>
public static class GrpcProtocol
{
    /// <summary>The content type of every gRPC request and response.</summary>
    public const string ContentType = "application/grpc";

    /// <summary>Trailer (or trailers-only header) carrying the numeric status code.</summary>
    public const string StatusHeader = "grpc-status";

    /// <summary>Trailer (or trailers-only header) carrying the percent-encoded status message.</summary>
    public const string MessageHeader = "grpc-message";

    /// <summary>Request header carrying the call's timeout, e.g. <c>4963131u</c>.</summary>
    public const string TimeoutHeader = "grpc-timeout";

    /// <summary>Header naming the compression of the messages in this direction.</summary>
    public const string EncodingHeader = "grpc-encoding";

    /// <summary>Header listing the compressions the sender can decode.</summary>
    public const string AcceptEncodingHeader = "grpc-accept-encoding";

    /// <summary>
    /// The default largest message a server accepts: etcd's 1.5 MiB request limit plus its
    /// 512 KiB gRPC overhead allowance (etcd's <c>--max-request-bytes</c> + <c>grpcOverheadBytes</c>).
    /// </summary>
    public const int DefaultMaxReceiveMessageSize = (3 * 1024 * 1024 / 2) + (512 * 1024);

    /// <summary>
    /// True when <paramref name="contentType"/> is <c>application/grpc</c>, optionally with a
    /// <c>+proto</c> subtype or parameters (<c>application/grpc; charset=…</c>).
    /// </summary>
    public static bool IsGrpcContentType(string? contentType)
    {
        if (string.IsNullOrEmpty(contentType) || !contentType.StartsWith(ContentType, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }
        if (contentType.Length == ContentType.Length)
        {
            return true;
        }
        var rest = contentType.AsSpan(ContentType.Length);
        // Only the protobuf codec exists here, so "+json" and other subtypes are not ours.
        if (rest.StartsWith("+proto", StringComparison.OrdinalIgnoreCase))
        {
            rest = rest["+proto".Length..];
        }
        return rest.IsEmpty || rest[0] == ';' || rest[0] == ' ';
    }
}
