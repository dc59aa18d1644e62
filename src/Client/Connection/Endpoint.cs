using Cairn.Grpc.Client;

namespace Cairn.Client;

/// <summary>
/// One member's client URL and its HTTP/2 connection (a <see cref="GrpcChannel"/>, created on
/// first use, multiplexing every call and watch stream to that member), with its health record.
/// </summary>
internal sealed class Endpoint : IDisposable
{
    private readonly Func<Endpoint, GrpcChannel>? _channelFactory;
    private readonly object _lock = new();
    private GrpcChannel? _channel;

    public Endpoint(string address, int index, Func<Endpoint, GrpcChannel>? channelFactory)
    {
        Address = Normalize(address);
        Index = index;
        _channelFactory = channelFactory;
    }

    /// <summary>e.g. <c>http://127.0.0.1:2379/</c>.</summary>
    public string Address { get; }

    /// <summary>Position in the client's endpoint list.</summary>
    public int Index { get; }

    /// <summary>When the endpoint last failed (<see cref="Environment.TickCount64"/> milliseconds), or null if it is healthy.</summary>
    public long? FailedAt { get; set; }

    /// <summary>The connection, created on first use.</summary>
    public GrpcChannel Channel
    {
        get
        {
            lock (_lock)
            {
                return _channel ??= (_channelFactory ?? throw new InvalidOperationException($"{Address} has no channel factory."))(this);
            }
        }
    }

    /// <summary>Accepts etcd-style endpoints: bare <c>host:port</c> means cleartext.</summary>
    internal static string Normalize(string endpoint)
    {
        var text = endpoint.Trim();
        if (!text.Contains("://", StringComparison.Ordinal))
        {
            text = "http://" + text;
        }
        var uri = new Uri(text);
        if (uri.Scheme is not ("http" or "https"))
        {
            throw new ArgumentException($"An endpoint is http://host:port, https://host:port or host:port, not \"{endpoint}\".", nameof(endpoint));
        }
        return uri.GetLeftPart(UriPartial.Authority) + "/";
    }

    public override string ToString() => Address;

    public void Dispose()
    {
        lock (_lock)
        {
            _channel?.Dispose();
            _channel = null;
        }
    }
}
