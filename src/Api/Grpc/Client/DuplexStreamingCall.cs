using Google.Protobuf;

namespace Cairn.Grpc.Client;

/// <summary>
/// A bidirectional-streaming call. Writes are not thread-safe (one at a time, each awaited), and
/// reads are not either, but one writer and one reader may run concurrently.
/// </summary>
/// <typeparam name="TRequest">The request message type.</typeparam>
/// <typeparam name="TResponse">The response message type.</typeparam>
public sealed class DuplexStreamingCall<TRequest, TResponse> : ServerStreamingCall<TResponse>
    where TRequest : class, IMessage<TRequest>
    where TResponse : class, IMessage<TResponse>
{
    internal DuplexStreamingCall(GrpcClientCall<TResponse> core) : base(core)
    {
    }

    /// <summary>
    /// Sends one request message and flushes it. Throws the call's <see cref="Cairn.Protocol.RpcException"/>
    /// if the call has failed; cancelling the token cancels the call.
    /// </summary>
    public Task WriteAsync(TRequest message, CancellationToken cancellationToken = default) => Core.WriteAsync(message, cancellationToken);

    /// <summary>Half-closes: no more requests; responses keep coming until the server ends the call.</summary>
    public Task CompleteRequestAsync()
    {
        Core.CompleteRequest();
        return Task.CompletedTask;
    }
}
