using Google.Protobuf;

namespace Cairn.Grpc;

/// <summary>The <see cref="IServerStreamWriter{T}"/> handed to streaming handlers.</summary>
internal sealed class ServerStreamWriter<T>(GrpcServerCall call) : IServerStreamWriter<T> where T : IMessage<T>
{
    public Task WriteAsync(T message, CancellationToken cancellationToken = default) =>
        call.WriteMessageAsync(message, flush: true, cancellationToken);

    public Task WriteAsync(T message, bool flush, CancellationToken cancellationToken = default) =>
        call.WriteMessageAsync(message, flush, cancellationToken);

    public Task FlushAsync(CancellationToken cancellationToken = default) => call.FlushAsync(cancellationToken);
}
