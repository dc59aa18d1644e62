using Google.Protobuf;

namespace Cairn.Grpc;

/// <summary>One request, a stream of responses (e.g. Maintenance/Snapshot).</summary>
internal sealed class ServerStreamingMethod<TRequest, TResponse>(
    string path, MessageParser<TRequest> parser, Func<TRequest, IServerStreamWriter<TResponse>, ServerCallContext, Task> handler) : GrpcMethod(path)
    where TRequest : class, IMessage<TRequest>
    where TResponse : class, IMessage<TResponse>
{
    public override async Task InvokeAsync(GrpcServerCall call)
    {
        var request = await call.ReadSingleRequestAsync(parser).ConfigureAwait(false);
        await handler(request, new ServerStreamWriter<TResponse>(call), call.Context).ConfigureAwait(false);
    }
}
