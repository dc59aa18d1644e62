using System.Threading.Channels;
using Etcdserverpb;

namespace Cairn.Client;

/// <summary>
/// One open Watch stream of a <see cref="WatchHub"/> on one endpoint: a writer task draining an
/// outbox (one writer per stream), a reader task posting every response back to the hub, and the
/// bookkeeping that maps the server's watch ids to watchers. The bookkeeping belongs to the hub's loop.
/// </summary>
internal sealed class WatchSession
{
    private readonly Channel<WatchRequest> _outbox = Channel.CreateUnbounded<WatchRequest>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _cts = new();
    private int _closed;

    public WatchSession(int id, Endpoint endpoint, IWatchConnection connection)
    {
        Id = id;
        Endpoint = endpoint;
        Connection = connection;
        LastReceive = Environment.TickCount64;
    }

    public int Id { get; }

    public Endpoint Endpoint { get; }

    public IWatchConnection Connection { get; }

    /// <summary>Watchers whose create request was sent and whose created response has not arrived, in send order (the server answers in order).</summary>
    public Queue<Watcher> PendingCreates { get; } = new();

    /// <summary>Watchers created on this stream, by the server's watch id.</summary>
    public Dictionary<long, Watcher> ById { get; } = new();

    /// <summary>When the last response arrived (<see cref="Environment.TickCount64"/>).</summary>
    public long LastReceive { get; set; }

    /// <summary>When the pending liveness probe was sent, or null.</summary>
    public long? ProbeSentAt { get; set; }

    /// <summary>True once any response arrived: the endpoint works.</summary>
    public bool Answered { get; set; }

    public bool IsClosed => Volatile.Read(ref _closed) != 0;

    public void Send(WatchRequest request) => _outbox.Writer.TryWrite(request);

    /// <summary>Starts the reader and writer; their results come back through <paramref name="post"/>.</summary>
    public void Start(Action<WatchSession, WatchResponse?, Exception?> post)
    {
        _ = Task.Run(() => ReadLoopAsync(post));
        _ = Task.Run(() => WriteLoopAsync(post));
    }

    private async Task ReadLoopAsync(Action<WatchSession, WatchResponse?, Exception?> post)
    {
        try
        {
            while (true)
            {
                var response = await Connection.ReadAsync(_cts.Token).ConfigureAwait(false);
                if (response == null)
                {
                    post(this, null, new Cairn.Protocol.RpcException(Cairn.Protocol.StatusCode.Unavailable, "watch stream ended by the server"));
                    return;
                }
                post(this, response, null);
            }
        }
        catch (Exception e)
        {
            post(this, null, e);
        }
    }

    private async Task WriteLoopAsync(Action<WatchSession, WatchResponse?, Exception?> post)
    {
        try
        {
            await foreach (var request in _outbox.Reader.ReadAllAsync(_cts.Token).ConfigureAwait(false))
            {
                await Connection.WriteAsync(request, _cts.Token).ConfigureAwait(false);
            }
        }
        catch (Exception e)
        {
            post(this, null, e);
        }
    }

    /// <summary>
    /// Ends the stream. <paramref name="graceful"/>: let queued requests (cancels) go out and
    /// half-close first, then reset after <paramref name="grace"/>; otherwise reset at once.
    /// </summary>
    public void Close(bool graceful, TimeSpan grace)
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0)
        {
            return;
        }
        _outbox.Writer.TryComplete();
        if (!graceful)
        {
            Abort();
            return;
        }
        _ = Task.Run(async () =>
        {
            try
            {
                await _outbox.Reader.Completion.WaitAsync(grace).ConfigureAwait(false);
                Connection.CompleteRequests();
                await Task.Delay(grace).ConfigureAwait(false);
            }
            catch (Exception)
            {
                // Best effort: the reset below ends the stream anyway.
            }
            Abort();
        });
    }

    private void Abort()
    {
        try
        {
            _cts.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
        try
        {
            Connection.Dispose();
        }
        catch (Exception)
        {
            // Disposing a broken call must not take the hub down.
        }
    }
}
