using System.Threading.Channels;
using Cairn.Protocol;
using Etcdserverpb;

namespace Cairn.Client.Tests.Infra;

/// <summary>
/// A scripted watch "server": every stream the client opens is handed to <see cref="OnOpen"/>,
/// which decides how it answers create requests (events, fragments, progress, breaks, silence).
/// </summary>
internal sealed class FakeWatchTransport : IWatchTransport
{
    private int _opened;

    /// <summary>Called for each new stream with its number (1, 2, …) and endpoint.</summary>
    public Action<FakeStream>? OnOpen { get; set; }

    /// <summary>Answer to liveness pings (true: the member is alive).</summary>
    public Func<string, bool> Ping { get; set; } = _ => true;

    public List<FakeStream> Streams { get; } = new();

    public IWatchConnection Open(Endpoint endpoint, bool requireLeader)
    {
        var stream = new FakeStream(Interlocked.Increment(ref _opened), endpoint.Address, requireLeader);
        lock (Streams)
        {
            Streams.Add(stream);
        }
        OnOpen?.Invoke(stream);
        return stream;
    }

    public Task<bool> PingAsync(Endpoint endpoint, TimeSpan timeout) => Task.FromResult(Ping(endpoint.Address));
}

internal sealed class FakeStream(int number, string endpoint, bool requireLeader) : IWatchConnection
{
    private readonly Channel<object> _responses = Channel.CreateUnbounded<object>();
    private long _nextId = 100 * number;

    public int Number { get; } = number;

    public string Endpoint { get; } = endpoint;

    public bool RequireLeader { get; } = requireLeader;

    public List<WatchRequest> Requests { get; } = new();

    public bool Disposed { get; private set; }

    /// <summary>Reacts to a create request: return the responses to send (the created reply is added first unless <see cref="AutoCreated"/> is false).</summary>
    public Func<WatchCreateRequest, long, IEnumerable<object>>? OnCreate { get; set; }

    public bool AutoCreated { get; set; } = true;

    public long CreatedHeader { get; set; } = 1;

    /// <summary>Every write waits for this first: an incomplete task plays a member that stopped reading the stream.</summary>
    public Task WriteGate { get; set; } = Task.CompletedTask;

    public async Task WriteAsync(WatchRequest request, CancellationToken cancellationToken)
    {
        await WriteGate.WaitAsync(cancellationToken);
        lock (Requests)
        {
            Requests.Add(request);
        }
        if (request.CreateRequest is { } create)
        {
            var id = _nextId++;
            if (AutoCreated)
            {
                Send(new WatchResponse { Header = new ResponseHeader { Revision = CreatedHeader }, WatchId = id, Created = true });
            }
            foreach (var item in OnCreate?.Invoke(create, id) ?? [])
            {
                Send(item);
            }
        }
        else if (request.CancelRequest is { } cancel)
        {
            Send(new WatchResponse { Header = new ResponseHeader { Revision = CreatedHeader }, WatchId = cancel.WatchId, Canceled = true });
        }
    }

    /// <summary>Queues a <see cref="WatchResponse"/> or an <see cref="Exception"/> (the stream breaks with it).</summary>
    public void Send(object item) => _responses.Writer.TryWrite(item);

    public async ValueTask<WatchResponse?> ReadAsync(CancellationToken cancellationToken)
    {
        var item = await _responses.Reader.ReadAsync(cancellationToken);
        return item switch
        {
            WatchResponse r => r,
            Exception e => throw e,
            _ => null,
        };
    }

    public void CompleteRequests()
    {
    }

    public void Dispose()
    {
        Disposed = true;
        _responses.Writer.TryComplete(new RpcException(StatusCode.Cancelled, "disposed"));
    }
}
