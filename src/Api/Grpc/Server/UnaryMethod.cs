using Google.Protobuf;

namespace Cairn.Grpc;

/// <summary>One request, one response.</summary>
internal sealed class UnaryMethod<TRequest, TResponse>(
    string path, MessageParser<TRequest> parser, Func<TRequest, ServerCallContext, ValueTask<TResponse>> handler) : GrpcMethod(path)
    where TRequest : class, IMessage<TRequest>
    where TResponse : class, IMessage<TResponse>
{
    public override async Task InvokeAsync(GrpcServerCall call)
    {
        var request = await call.ReadSingleRequestAsync(parser).ConfigureAwait(false);
        var response = await handler(request, call.Context).ConfigureAwait(false);
        // No flush: the trailers follow at once, and Kestrel can send both together.
        await call.WriteMessageAsync(response, flush: false, default).ConfigureAwait(false);
    }
}
