using System.Threading.Channels;
using Etcdserverpb;

namespace Cairn.Client;

/// <summary>
/// One open Watch stream of a <see cref="WatchHub"/> on one endpoint: a writer task draining an
/// outbox (one writer per stream), a reader task posting every response back to the hub, and the
/// bookkeeping that maps the server's watch ids to watchers. The bookkeeping belongs to the hub's loop.
/// <para>The outbox is bounded (<see cref="EtcdClientOptions.WatchOutboxCapacity"/>). The hub's loop
/// never waits for room (the stream's own responses could be what it would wait behind): a request
/// that does not fit marks the session <see cref="Overflowed"/>, and the hub gives the stream up.</para>
/// </summary>
internal sealed class WatchSession
{
    private readonly Channel<WatchRequest> _outbox;
    private readonly CancellationTokenSource _cts = new();
    private int _closed;
    private volatile bool _pingAnswered;

    public WatchSession(int id, Endpoint endpoint, IWatchConnection connection, int outboxCapacity)
    {
        Id = id;
        Endpoint = endpoint;
        Connection = connection;
        LastReceive = Environment.TickCount64;
        _outbox = Channel.CreateBounded<WatchRequest>(new BoundedChannelOptions(outboxCapacity)
        {
            SingleReader = true,
            SingleWriter = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
    }

    public int Id { get; }

    public Endpoint Endpoint { get; }

    public IWatchConnection Connection { get; }

    /// <summary>Watchers whose create request was sent and whose created response has not arrived, in send order (the server answers in order).</summary>
    public Queue<Watcher> PendingCreates { get; } = new();

    /// <summary>
    /// Watchers to create on this stream once fewer creates are pending (the hub keeps at most a
    /// window of them in flight, so re-creating many watches never floods the outbox). Each watcher
    /// is here at most once per stream; finished or suspended ones are skipped when their turn comes.
    /// </summary>
    public Queue<Watcher> WaitingCreates { get; } = new();

    /// <summary>Watchers created on this stream, by the server's watch id.</summary>
    public Dictionary<long, Watcher> ById { get; } = new();

    /// <summary>When the last response arrived (<see cref="Environment.TickCount64"/>).</summary>
    public long LastReceive { get; set; }

    /// <summary>When the pending liveness probe was sent, or null.</summary>
    public long? ProbeSentAt { get; set; }

    /// <summary>True once any response arrived: the endpoint works.</summary>
    public bool Answered { get; set; }

    /// <summary>
    /// Set by the liveness ping's continuation when the member answered it; the hub's tick reads it
    /// (a flag rather than a command, so the ping's result needs no room in the hub's queue).
    /// </summary>
    public bool PingAnswered
    {
        get => _pingAnswered;
        set => _pingAnswered = value;
    }

    /// <summary>A request did not fit in the outbox: the member is not reading the stream fast enough.</summary>
    public bool Overflowed { get; private set; }

    public bool IsClosed => Volatile.Read(ref _closed) != 0;

    /// <summary>Queues a request for the writer without waiting; when the outbox is full the session is marked <see cref="Overflowed"/>.</summary>
    public void Send(WatchRequest request)
    {
        if (!Overflowed && !IsClosed && !_outbox.Writer.TryWrite(request))
        {
            Overflowed = true;
        }
    }

    /// <summary>
    /// Starts the reader and writer; their results come back through <paramref name="post"/>, which
    /// may wait for room in the hub's queue (the reader then stops reading: backpressure on the
    /// stream) and is cancelled when the session closes.
    /// </summary>
    public void Start(Func<WatchSession, WatchResponse?, Exception?, CancellationToken, ValueTask> post)
    {
        _ = Task.Run(() => ReadLoopAsync(post));
        _ = Task.Run(() => WriteLoopAsync(post));
    }

    private async Task ReadLoopAsync(Func<WatchSession, WatchResponse?, Exception?, CancellationToken, ValueTask> post)
    {
        try
        {
            while (true)
            {
                var response = await Connection.ReadAsync(_cts.Token).ConfigureAwait(false);
                if (response == null)
                {
                    await post(this, null, new Cairn.Protocol.RpcException(Cairn.Protocol.StatusCode.Unavailable, "watch stream ended by the server"), _cts.Token)
                        .ConfigureAwait(false);
                    return;
                }
                await post(this, response, null, _cts.Token).ConfigureAwait(false);
            }
        }
        catch (Exception e)
        {
            await post(this, null, e, _cts.Token).ConfigureAwait(false);
        }
    }

    private async Task WriteLoopAsync(Func<WatchSession, WatchResponse?, Exception?, CancellationToken, ValueTask> post)
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
            await post(this, null, e, _cts.Token).ConfigureAwait(false);
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
