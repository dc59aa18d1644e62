using System.Buffers;
using System.Net;
using Google.Protobuf;

namespace Cairn.Grpc.Client;

/// <summary>
/// The body of a call with a single request: one frame, serialized into a pooled buffer. It can be
/// serialized again if the handler retries the request on a new connection.
/// </summary>
internal sealed class UnaryRequestContent : HttpContent
{
    private readonly IMessage _message;
    private readonly int _size;

    public UnaryRequestContent(IMessage message)
    {
        _message = message;
        _size = message.CalculateSize();
        Headers.TryAddWithoutValidation("Content-Type", GrpcProtocol.ContentType);
    }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        var length = GrpcFrame.HeaderSize + _size;
        var buffer = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            GrpcFrame.WriteHeader(buffer, _size);
            _message.WriteTo(buffer.AsSpan(GrpcFrame.HeaderSize, _size));
            await stream.WriteAsync(buffer.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    protected override bool TryComputeLength(out long length)
    {
        length = GrpcFrame.HeaderSize + _size;
        return true;
    }
}
