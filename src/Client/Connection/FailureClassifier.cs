using System.Net.Http;
using System.Net.Sockets;
using Cairn.Protocol;

namespace Cairn.Client;

/// <summary>
/// Sorts a failed attempt into <see cref="FailureKind"/>. The rule that keeps writes safe: a
/// write is re-sent only when the transport proves the request never left this process or was
/// refused unprocessed; anything that happens after the request may have reached a member
/// (connection reset mid-call, timeout, "no leader", "request timed out") is reported to the
/// caller, because the write may still commit and a retry would apply it twice.
/// </summary>
internal static class FailureClassifier
{
    public static FailureKind Classify(RpcException error)
    {
        if (ProvesNotSent(error))
        {
            return FailureKind.NotSent;
        }
        return error.Status switch
        {
            StatusCode.Unavailable => FailureKind.EndpointFailed,
            // Transport breakage the gRPC layer reports as INTERNAL/UNKNOWN (RST_STREAM, missing trailers, non-gRPC answer).
            StatusCode.Internal or StatusCode.Unknown when error.InnerException != null || !error.Message.StartsWith("etcdserver:", StringComparison.Ordinal)
                => FailureKind.EndpointFailed,
            _ => FailureKind.Final,
        };
    }

    /// <summary>
    /// True when a stream (Watch, LeaseKeepAlive) was refused for reasons another member would give
    /// too (unimplemented, auth, a bad request): re-opening it elsewhere will not help.
    /// </summary>
    public static bool IsTerminal(RpcException e) => e.Status is StatusCode.Unimplemented or StatusCode.Unauthenticated
        or StatusCode.PermissionDenied or StatusCode.InvalidArgument or StatusCode.FailedPrecondition;

    /// <summary>True when the exception chain shows the connection was never established or the stream was refused.</summary>
    public static bool ProvesNotSent(Exception error)
    {
        for (var e = (Exception?)error; e != null; e = e.InnerException)
        {
            switch (e)
            {
                case HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError or HttpRequestError.SecureConnectionError }:
                    return true;
                case SocketException { SocketErrorCode: SocketError.ConnectionRefused or SocketError.HostNotFound or SocketError.HostUnreachable or SocketError.NetworkUnreachable }:
                    return true;
                // HTTP/2 REFUSED_STREAM: the server guarantees it did not process the stream.
                case HttpProtocolException { ErrorCode: 0x7 }:
                    return true;
            }
        }
        return false;
    }
}
