using System.Net;
using Cairn.Protocol;
using Google.Protobuf;

namespace Cairn.Grpc.Client;

/// <summary>
/// A connection to one gRPC endpoint: one <c>SocketsHttpHandler</c> whose HTTP/2 connection
/// multiplexes every call. <c>http://</c> uses cleartext HTTP/2 with prior knowledge (h2c),
/// <c>https://</c> TLS with ALPN h2. Thread-safe; dispose it to close the connection.
/// </summary>
public sealed class GrpcChannel : IDisposable
{
    private readonly bool _ownsHandler;
    private readonly CancellationTokenSource _disposed = new();

    /// <summary>Creates a channel to <paramref name="address"/> (scheme, host and port; any path is ignored).</summary>
    public GrpcChannel(Uri address, GrpcChannelOptions? options = null)
    {
        if (address.Scheme is not ("http" or "https"))
        {
            throw new ArgumentException($"A gRPC address is http:// or https://, not {address}.", nameof(address));
        }
        Address = new Uri(address.GetLeftPart(UriPartial.Authority) + "/");
        Options = options ?? new GrpcChannelOptions();
        HttpMessageHandler handler;
        if (Options.HttpHandler != null)
        {
            handler = Options.HttpHandler;
        }
        else
        {
            var sockets = new SocketsHttpHandler
            {
                EnableMultipleHttp2Connections = Options.EnableMultipleHttp2Connections,
                KeepAlivePingDelay = Options.KeepAlivePingDelay,
                KeepAlivePingTimeout = Options.KeepAlivePingTimeout,
                KeepAlivePingPolicy = Options.KeepAliveWithoutCalls ? HttpKeepAlivePingPolicy.Always : HttpKeepAlivePingPolicy.WithActiveRequests,
                ConnectTimeout = Options.ConnectTimeout,
                PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
                AutomaticDecompression = DecompressionMethods.None,
                UseProxy = false,
                UseCookies = false,
                AllowAutoRedirect = false,
            };
            if (Options.SslOptions != null)
            {
                sockets.SslOptions = Options.SslOptions;
            }
            handler = sockets;
            _ownsHandler = true;
        }
        Invoker = new HttpMessageInvoker(handler, disposeHandler: _ownsHandler);
    }

    /// <summary>
    /// Creates a channel from an etcd-style endpoint: <c>http://host:port</c>, <c>https://host:port</c>
    /// or bare <c>host:port</c> (cleartext).
    /// </summary>
    public static GrpcChannel ForAddress(string endpoint, GrpcChannelOptions? options = null) =>
        new(new Uri(endpoint.Contains("://", StringComparison.Ordinal) ? endpoint : "http://" + endpoint), options);

    /// <summary>The endpoint, e.g. <c>http://127.0.0.1:2379/</c>.</summary>
    public Uri Address { get; }

    /// <summary>The channel's settings.</summary>
    public GrpcChannelOptions Options { get; }

    internal HttpMessageInvoker Invoker { get; }

    /// <summary>
    /// Fires when the channel is disposed. Every call links to it, because disposing the HTTP
    /// handler alone leaves HTTP/2 streams that are in flight waiting forever.
    /// </summary>
    internal CancellationToken DisposedToken => _disposed.Token;

    internal bool IsDisposed => _disposed.IsCancellationRequested;

    /// <summary>
    /// Makes a unary call. Throws <see cref="RpcException"/> for any failure: the server's status,
    /// UNAVAILABLE for connection problems, DEADLINE_EXCEEDED when <paramref name="deadline"/>
    /// passes (enforced here too, so a silent server cannot hang the caller), CANCELLED when
    /// <paramref name="cancellationToken"/> fires.
    /// </summary>
    /// <param name="path">The method path, e.g. <c>/etcdserverpb.KV/Range</c>.</param>
    /// <param name="request">The request message.</param>
    /// <param name="parser">The response's parser, e.g. <c>RangeResponse.Parser</c>.</param>
    /// <param name="headers">Metadata to send (lower-case keys), or null.</param>
    /// <param name="deadline">When the call must be over, in UTC (a Local time is converted; sent as <c>grpc-timeout</c>), or null for none.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public async Task<TResponse> UnaryAsync<TRequest, TResponse>(string path, TRequest request, MessageParser<TResponse> parser,
        IEnumerable<KeyValuePair<string, string>>? headers = null, DateTime? deadline = null, CancellationToken cancellationToken = default)
        where TRequest : class, IMessage<TRequest>
        where TResponse : class, IMessage<TResponse>
    {
        using var call = new GrpcClientCall<TResponse>(this, path, new UnaryRequestContent(request), parser, headers, deadline, cancellationToken);
        call.Start();
        var response = await call.ReadAsync(default).ConfigureAwait(false)
            ?? throw new RpcException(StatusCode.Internal, "grpc: the server ended a unary call with OK but sent no response message");
        if (await call.ReadAsync(default).ConfigureAwait(false) != null)
        {
            throw new RpcException(StatusCode.Internal, "grpc: the server sent more than one response message for a unary call");
        }
        return response;
    }

    /// <summary>
    /// Starts a server-streaming call (one request, a stream of responses). Read it with
    /// <c>await foreach</c> or <see cref="ServerStreamingCall{TResponse}.MoveNextAsync"/>; dispose
    /// it to cancel. Errors surface as <see cref="RpcException"/> from the reads.
    /// </summary>
    /// <param name="path">The method path.</param>
    /// <param name="request">The request message.</param>
    /// <param name="parser">The responses' parser.</param>
    /// <param name="headers">Metadata to send, or null.</param>
    /// <param name="deadline">When the whole call must be over, in UTC, or null (a watch normally has none).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public ServerStreamingCall<TResponse> ServerStreaming<TRequest, TResponse>(string path, TRequest request, MessageParser<TResponse> parser,
        IEnumerable<KeyValuePair<string, string>>? headers = null, DateTime? deadline = null, CancellationToken cancellationToken = default)
        where TRequest : class, IMessage<TRequest>
        where TResponse : class, IMessage<TResponse>
    {
        var call = new GrpcClientCall<TResponse>(this, path, new UnaryRequestContent(request), parser, headers, deadline, cancellationToken);
        call.Start();
        return new ServerStreamingCall<TResponse>(call);
    }

    /// <summary>
    /// Starts a bidirectional-streaming call (Watch, LeaseKeepAlive): write requests with
    /// <see cref="DuplexStreamingCall{TRequest, TResponse}.WriteAsync"/> (each is flushed at once),
    /// read responses as they come, half-close with
    /// <see cref="DuplexStreamingCall{TRequest, TResponse}.CompleteRequestAsync"/>; dispose to cancel.
    /// </summary>
    /// <param name="path">The method path, e.g. <c>/etcdserverpb.Watch/Watch</c>.</param>
    /// <param name="parser">The responses' parser.</param>
    /// <param name="headers">Metadata to send (e.g. <c>hasleader: true</c>), or null.</param>
    /// <param name="deadline">When the whole call must be over, in UTC, or null (a watch normally has none).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public DuplexStreamingCall<TRequest, TResponse> DuplexStreaming<TRequest, TResponse>(string path, MessageParser<TResponse> parser,
        IEnumerable<KeyValuePair<string, string>>? headers = null, DateTime? deadline = null, CancellationToken cancellationToken = default)
        where TRequest : class, IMessage<TRequest>
        where TResponse : class, IMessage<TResponse>
    {
        var call = new GrpcClientCall<TResponse>(this, path, new StreamingRequestContent(), parser, headers, deadline, cancellationToken);
        call.Start();
        return new DuplexStreamingCall<TRequest, TResponse>(call);
    }

    /// <summary>Cancels the calls in flight (they fail with CANCELLED) and closes the connection (when the channel created its handler).</summary>
    public void Dispose()
    {
        if (_disposed.IsCancellationRequested)
        {
            return;
        }
        _disposed.Cancel();
        Invoker.Dispose();
    }
}
