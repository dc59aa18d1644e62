using Cairn.Grpc.Client;

namespace Cairn.Client;

/// <summary>
/// A client for etcd v3 and Cairn. One HTTP/2 connection per endpoint carries every call and
/// watch stream; calls go to a pinned endpoint and move to the next one when it fails (see
/// <see cref="UnaryInvoker"/> for which calls are retried). Watches (<see cref="Watch(KeyRange, WatchOptions?, CancellationToken)"/>)
/// share one stream per endpoint and resume on another endpoint after a failure without losing
/// or repeating events. Thread-safe; dispose it to close the connections and end the watches.
/// </summary>
/// <example>
/// <code>
/// await using var client = new EtcdClient("http://127.0.0.1:2379", "http://127.0.0.1:22379");
/// await client.PutAsync("greeting", "hello");
/// var got = await client.GetAsync(KeyRange.Prefix("greet"));
/// await foreach (var batch in client.Watch(KeyRange.Prefix("greet"), new WatchOptions { StartRevision = got.Header.Revision + 1 }, ct))
///     foreach (var e in batch.Events) Console.WriteLine($"{e.Type} {e.Kv.Key.ToStringUtf8()}");
/// </code>
/// </example>
public sealed partial class EtcdClient : IAsyncDisposable, IDisposable
{
    private readonly EndpointPool _pool;
    private readonly UnaryInvoker _invoker;
    private readonly WatchHub _watchHub;
    private readonly WatchHub _leaderWatchHub;
    private readonly LeaseKeepAliveHub _keepAlives;
    private int _disposed;

    /// <summary>Creates a client for the given endpoints with default options.</summary>
    /// <param name="endpoints">Client URLs of the members, e.g. <c>http://127.0.0.1:2379</c>.</param>
    public EtcdClient(params string[] endpoints) : this(new EtcdClientOptions { Endpoints = endpoints.ToList() })
    {
    }

    /// <summary>Creates a client. No connection is opened until the first call.</summary>
    public EtcdClient(EtcdClientOptions options) : this(options, transport: null)
    {
    }

    /// <summary>Test seam: a custom watch transport (a scripted fake stream).</summary>
    internal EtcdClient(EtcdClientOptions options, IWatchTransport? transport)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Endpoints.Count == 0)
        {
            throw new ArgumentException("At least one endpoint is needed.", nameof(options));
        }
        Options = options;
        var endpoints = options.Endpoints.Select((e, i) => new Endpoint(e, i, CreateChannel)).ToList();
        _pool = new EndpointPool(endpoints, options.EndpointQuarantine);
        _invoker = new UnaryInvoker(_pool, options);
        transport ??= new GrpcWatchTransport();
        _watchHub = new WatchHub(_pool, transport, options, requireLeader: false);
        _leaderWatchHub = new WatchHub(_pool, transport, options, requireLeader: true);
        _keepAlives = new LeaseKeepAliveHub(_pool, options);
    }

    /// <summary>The client's options (do not change them after construction).</summary>
    public EtcdClientOptions Options { get; }

    /// <summary>The endpoints, normalised (e.g. <c>http://127.0.0.1:2379/</c>), in the order given.</summary>
    public IReadOnlyList<string> Endpoints => _pool.Endpoints.Select(e => e.Address).ToList();

    /// <summary>The endpoint calls currently go to.</summary>
    public string CurrentEndpoint => _pool.Pick().Address;

    private GrpcChannel CreateChannel(Endpoint endpoint) => new(new Uri(endpoint.Address), new GrpcChannelOptions
    {
        ConnectTimeout = Options.ConnectTimeout,
        KeepAlivePingDelay = Options.KeepAlivePingDelay,
        KeepAlivePingTimeout = Options.KeepAlivePingTimeout,
        SslOptions = Options.SslOptions,
        UserAgent = "cairn-client/1.0",
    });

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);

    /// <summary>Ends every watch and lease keep-alive (their enumerations finish) and closes the connections.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        await _watchHub.DisposeAsync().ConfigureAwait(false);
        await _leaderWatchHub.DisposeAsync().ConfigureAwait(false);
        await _keepAlives.DisposeAsync().ConfigureAwait(false);
        _pool.Dispose();
    }

    /// <summary>Synchronous <see cref="DisposeAsync"/>.</summary>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();
}
