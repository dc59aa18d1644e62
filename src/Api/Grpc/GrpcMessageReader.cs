using System.Buffers;
using System.IO.Pipelines;
using Cairn.Protocol;
using Google.Protobuf;

namespace Cairn.Grpc;

/// <summary>
/// Reads length-prefixed gRPC messages from a pipe (the server's request body, or the client's
/// response body wrapped in a pipe). One implementation for both sides; the error texts follow
/// grpc-go so Go and .NET callers see the same words.
/// </summary>
internal static class GrpcMessageReader
{
    /// <summary>
    /// Reads the next message, or returns null when the stream ended cleanly between messages.
    /// A frame larger than <paramref name="maxMessageSize"/> is refused from its header alone, so
    /// an oversized message is never buffered. A contiguous frame is parsed in place (no copy).
    /// </summary>
    /// <param name="reader">The body.</param>
    /// <param name="parser">Parser of the message type.</param>
    /// <param name="maxMessageSize">Largest accepted message (bytes, without the prefix).</param>
    /// <param name="encoding">The sender's <c>grpc-encoding</c> header, if any.</param>
    /// <param name="isServer">Picks grpc-go's server or client wording for unmarshalling errors.</param>
    /// <param name="cancellationToken">Cancels the wait for data.</param>
    public static async ValueTask<T?> ReadAsync<T>(
        PipeReader reader, MessageParser<T> parser, int maxMessageSize, string? encoding, bool isServer, CancellationToken cancellationToken)
        where T : class, IMessage<T>
    {
        while (true)
        {
            var result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            if (result.IsCanceled)
            {
                reader.AdvanceTo(buffer.Start);
                throw new OperationCanceledException(cancellationToken);
            }
            if (buffer.Length >= GrpcFrame.HeaderSize)
            {
                GrpcFrame.ReadHeader(buffer, out var flag, out var length);
                var error = CheckHeader(flag, length, maxMessageSize, encoding);
                if (error != null)
                {
                    reader.AdvanceTo(buffer.Start);
                    throw error;
                }
                if (buffer.Length - GrpcFrame.HeaderSize >= length)
                {
                    var payload = buffer.Slice(GrpcFrame.HeaderSize, length);
                    T message;
                    try
                    {
                        message = parser.ParseFrom(payload);
                    }
                    catch (Exception e) when (e is InvalidProtocolBufferException or InvalidOperationException or ArgumentException)
                    {
                        reader.AdvanceTo(buffer.Start);
                        throw new RpcException(StatusCode.Internal, isServer
                            ? $"grpc: error unmarshalling request: {e.Message}"
                            : $"grpc: failed to unmarshal the received message: {e.Message}");
                    }
                    // Protobuf copies bytes and strings out of the buffer, so releasing it is safe.
                    reader.AdvanceTo(payload.End);
                    return message;
                }
                if (result.IsCompleted)
                {
                    var got = buffer.Length - GrpcFrame.HeaderSize;
                    reader.AdvanceTo(buffer.End);
                    throw new RpcException(StatusCode.Internal,
                        $"grpc: received message truncated: expected {length} bytes, the stream ended after {got} (unexpected EOF)");
                }
            }
            else if (result.IsCompleted)
            {
                var got = buffer.Length;
                reader.AdvanceTo(buffer.End);
                if (got == 0)
                {
                    return null;
                }
                throw new RpcException(StatusCode.Internal,
                    $"grpc: received truncated message header: {got} of 5 bytes (unexpected EOF)");
            }
            // Nothing usable yet: keep everything, ask for more.
            reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    private static RpcException? CheckHeader(byte flag, uint length, int maxMessageSize, string? encoding)
    {
        if (flag == 1)
        {
            // Nothing here decompresses. grpc-go distinguishes a sender that claims no compression
            // from one that uses an algorithm we lack.
            return string.IsNullOrEmpty(encoding) || encoding == "identity"
                ? new RpcException(StatusCode.Internal, "grpc: compressed flag set with identity or empty encoding")
                : new RpcException(StatusCode.Unimplemented, $"grpc: Decompressor is not installed for grpc-encoding \"{encoding}\"");
        }
        if (flag != 0)
        {
            return new RpcException(StatusCode.Internal, $"grpc: received unexpected payload format {flag}");
        }
        if (length > (uint)maxMessageSize)
        {
            return new RpcException(StatusCode.ResourceExhausted,
                $"grpc: received message larger than max ({length} vs. {maxMessageSize})");
        }
        return null;
    }
}
