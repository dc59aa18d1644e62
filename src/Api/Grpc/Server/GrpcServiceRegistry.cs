using Google.Protobuf;

namespace Cairn.Grpc;

/// <summary>
/// The methods a server answers, by path (<c>/etcdserverpb.KV/Range</c>). Fill it before the
/// server starts; lookups during serving are lock-free reads.
/// </summary>
public sealed class GrpcServiceRegistry
{
    private readonly Dictionary<string, GrpcMethod> _methods = new(StringComparer.Ordinal);
    private readonly HashSet<string> _services = new(StringComparer.Ordinal);

    /// <summary>The registered method paths.</summary>
    public IReadOnlyCollection<string> Paths => _methods.Keys;

    /// <summary>Registers a unary method (one request, one response).</summary>
    /// <param name="path">The full path, e.g. <c>/etcdserverpb.KV/Range</c>.</param>
    /// <param name="parser">The request's parser, e.g. <c>RangeRequest.Parser</c>.</param>
    /// <param name="handler">Computes the response; throw <see cref="Cairn.Protocol.RpcException"/> for a gRPC error.</param>
    public GrpcServiceRegistry AddUnary<TRequest, TResponse>(
        string path, MessageParser<TRequest> parser, Func<TRequest, ServerCallContext, ValueTask<TResponse>> handler)
        where TRequest : class, IMessage<TRequest>
        where TResponse : class, IMessage<TResponse>
        => Add(new UnaryMethod<TRequest, TResponse>(path, parser, handler));

    /// <summary>Registers a server-streaming method (one request, a stream of responses).</summary>
    /// <param name="path">The full path, e.g. <c>/etcdserverpb.Maintenance/Snapshot</c>.</param>
    /// <param name="parser">The request's parser.</param>
    /// <param name="handler">Writes responses; returning ends the call with OK.</param>
    public GrpcServiceRegistry AddServerStreaming<TRequest, TResponse>(
        string path, MessageParser<TRequest> parser, Func<TRequest, IServerStreamWriter<TResponse>, ServerCallContext, Task> handler)
        where TRequest : class, IMessage<TRequest>
        where TResponse : class, IMessage<TResponse>
        => Add(new ServerStreamingMethod<TRequest, TResponse>(path, parser, handler));

    /// <summary>Registers a bidirectional-streaming method (Watch, LeaseKeepAlive).</summary>
    /// <param name="path">The full path, e.g. <c>/etcdserverpb.Watch/Watch</c>.</param>
    /// <param name="parser">The request's parser.</param>
    /// <param name="handler">
    /// Consumes requests (the sequence ends when the client half-closes; it throws
    /// <see cref="OperationCanceledException"/> when the client resets) and writes responses;
    /// returning ends the call with OK.
    /// </param>
    public GrpcServiceRegistry AddDuplexStreaming<TRequest, TResponse>(
        string path, MessageParser<TRequest> parser, Func<IAsyncEnumerable<TRequest>, IServerStreamWriter<TResponse>, ServerCallContext, Task> handler)
        where TRequest : class, IMessage<TRequest>
        where TResponse : class, IMessage<TResponse>
        => Add(new DuplexStreamingMethod<TRequest, TResponse>(path, parser, handler));

    internal GrpcMethod? Find(string path) => _methods.GetValueOrDefault(path);

    internal bool HasService(string service) => _services.Contains(service);

    private GrpcServiceRegistry Add(GrpcMethod method)
    {
        if (!TrySplit(method.Path, out var service, out _))
        {
            throw new ArgumentException($"A method path looks like /package.Service/Method, not \"{method.Path}\".", nameof(method));
        }
        if (!_methods.TryAdd(method.Path, method))
        {
            throw new InvalidOperationException($"{method.Path} is registered already.");
        }
        _services.Add(service);
        return this;
    }

    /// <summary>Splits <c>/svc/method</c>; false when the path has no such shape.</summary>
    internal static bool TrySplit(string path, out string service, out string method)
    {
        service = method = string.Empty;
        if (path.Length < 4 || path[0] != '/')
        {
            return false;
        }
        var slash = path.IndexOf('/', 1);
        if (slash <= 1 || slash == path.Length - 1 || path.IndexOf('/', slash + 1) >= 0)
        {
            return false;
        }
        service = path[1..slash];
        method = path[(slash + 1)..];
        return true;
    }
}
