using Google.Protobuf;

namespace Cairn.Grpc;

/// <summary>Streams both ways (Watch, LeaseKeepAlive).</summary>
internal sealed class DuplexStreamingMethod<TRequest, TResponse>(
    string path, MessageParser<TRequest> parser, Func<IAsyncEnumerable<TRequest>, IServerStreamWriter<TResponse>, ServerCallContext, Task> handler) : GrpcMethod(path)
    where TRequest : class, IMessage<TRequest>
    where TResponse : class, IMessage<TResponse>
{
    public override Task InvokeAsync(GrpcServerCall call) =>
        handler(call.ReadAllRequestsAsync(parser), new ServerStreamWriter<TResponse>(call), call.Context);
}
