using Cairn.Grpc.Client;
using Cairn.Protocol;
using Etcdserverpb;

namespace Cairn.Client;

/// <summary>
/// Keeps every lease of a client alive over ONE LeaseKeepAlive stream, as etcd's clientv3 lessor
/// does: a keep-alive per lease every third of the TTL the server last reported (never faster
/// than every 500 ms), answers routed to the lease's consumers by id. An answer with TTL &lt;= 0 means
/// the lease is gone: its keep-alive ends with NotFound "etcdserver: requested lease not found".
/// <para>No request queue: each lease has at most one keep-alive in flight, and the sender writes
/// the due ones straight onto the stream, so the work is bounded by the number of leases kept.</para>
/// <para>When the stream breaks, or a keep-alive is not answered within
/// <see cref="EtcdClientOptions.ReadAttemptTimeout"/> (a frozen member), the endpoint is quarantined,
/// the stream re-opened on another one and the unanswered keep-alives sent again there (a
/// keep-alive only restarts the lease's clock, so repeating it is harmless). A lease whose
/// keep-alives go unanswered until it would expire by its last reported TTL (the first one: within
/// <see cref="EtcdClientOptions.CallTimeout"/>) ends with the last stream error.</para>
/// <para>The stream is closed when no lease is left on it and opened again by the next one.</para>
/// </summary>
internal sealed class LeaseKeepAliveHub : IAsyncDisposable
{
    private const string Path = "/etcdserverpb.Lease/LeaseKeepAlive";

    // etcd's clientv3 checks for due keep-alives every 500 ms and beats no faster than that.
    private static readonly TimeSpan MaxSleep = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan MinBeat = TimeSpan.FromMilliseconds(500);

    private readonly EndpointPool _pool;
    private readonly EtcdClientOptions _options;
    private readonly object _lock = new();
    private readonly Dictionary<long, KeptLease> _leases = new();
    private readonly SemaphoreSlim _wake = new(0, 1);
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;
    private Endpoint? _streamEndpoint;
    private volatile bool _streamAnswered;
    private int _streamsOpened;
    private bool _disposed;

    public LeaseKeepAliveHub(EndpointPool pool, EtcdClientOptions options)
    {
        _pool = pool;
        _options = options;
    }

    /// <summary>LeaseKeepAlive streams opened so far (the first plus one per failover or idle restart).</summary>
    public int StreamsOpened => Volatile.Read(ref _streamsOpened);

    /// <summary>The endpoint of the open stream, or null.</summary>
    public string? StreamEndpoint
    {
        get
        {
            lock (_lock)
            {
                return _streamEndpoint?.Address;
            }
        }
    }

    /// <summary>Starts keeping <paramref name="leaseId"/> alive for a new consumer; its first keep-alive goes out at once.</summary>
    public KeepAliveConsumer Add(long leaseId)
    {
        var consumer = new KeepAliveConsumer(leaseId);
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, typeof(EtcdClient));
            if (!_leases.TryGetValue(leaseId, out var lease))
            {
                lease = new KeptLease(leaseId, DateTime.UtcNow + _options.CallTimeout);
                _leases.Add(leaseId, lease);
            }
            else if (lease.SentAt == null)
            {
                // Another consumer of a lease already kept: it gets an answer now, not at the next beat.
                lease.NextSend = DateTime.MinValue;
            }
            lease.Consumers.Add(consumer);
            _loop ??= Task.Run(RunAsync);
        }
        Wake();
        return consumer;
    }

    /// <summary>The consumer left: the lease gets no more keep-alives once its last consumer is gone.</summary>
    public void Remove(KeepAliveConsumer consumer)
    {
        lock (_lock)
        {
            if (_leases.TryGetValue(consumer.LeaseId, out var lease) && lease.Consumers.Remove(consumer) && lease.Consumers.Count == 0)
            {
                _leases.Remove(lease.Id);
            }
        }
        consumer.Finish(null);
    }

    private void Wake()
    {
        try
        {
            if (_wake.CurrentCount == 0)
            {
                _wake.Release();
            }
        }
        catch (SemaphoreFullException)
        {
            // Someone else woke it first.
        }
    }

    /// <summary>One stream after another, each on the next endpoint after a failure, while any lease is kept.</summary>
    private async Task RunAsync()
    {
        Endpoint? failed = null;
        var failuresInRow = 0;
        while (true)
        {
            lock (_lock)
            {
                if (_leases.Count == 0 || _disposed)
                {
                    _loop = null;
                    return;
                }
            }
            try
            {
                if (failuresInRow >= _pool.Endpoints.Count)
                {
                    // Every endpoint failed in turn: pause a little before going round again.
                    var rounds = failuresInRow - _pool.Endpoints.Count + 1;
                    await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(100 * rounds, 500)), _stop.Token).ConfigureAwait(false);
                }
                var endpoint = _pool.Pick(failed);
                try
                {
                    await RunStreamAsync(endpoint).ConfigureAwait(false);
                    failed = null;
                    failuresInRow = 0;
                }
                catch (Exception e) when (!_stop.IsCancellationRequested)
                {
                    failed = endpoint;
                    failuresInRow = _streamAnswered ? 1 : failuresInRow + 1;
                    OnStreamFailed(endpoint, e);
                }
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                // Disposed: the check at the top ends the loop.
            }
        }
    }

    private async Task RunStreamAsync(Endpoint endpoint)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        var call = endpoint.Channel.DuplexStreaming<LeaseKeepAliveRequest, LeaseKeepAliveResponse>(Path, LeaseKeepAliveResponse.Parser,
            cancellationToken: cts.Token);
        Interlocked.Increment(ref _streamsOpened);
        _streamAnswered = false;
        lock (_lock)
        {
            _streamEndpoint = endpoint;
        }
        _options.Log?.Invoke($"lease keep-alive stream opening on {endpoint.Address}");
        Task? reader = null;
        try
        {
            reader = ReadAsync(call, endpoint, cts.Token);
            _ = reader.ContinueWith(_ => Wake(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            while (true)
            {
                if (reader.IsCompleted)
                {
                    await reader.ConfigureAwait(false);
                }
                var due = NextBeats(endpoint, out var sleep);
                if (due == null)
                {
                    // No lease left: end the stream politely; the next keep-alive opens a new one.
                    await call.CompleteRequestAsync().ConfigureAwait(false);
                    return;
                }
                if (due.Count > 0)
                {
                    using var writeCts = CancellationTokenSource.CreateLinkedTokenSource(cts.Token);
                    writeCts.CancelAfter(AnswerBound() ?? _options.CallTimeout);
                    foreach (var id in due)
                    {
                        await call.WriteAsync(new LeaseKeepAliveRequest { ID = id }, writeCts.Token).ConfigureAwait(false);
                    }
                }
                await _wake.WaitAsync(sleep, cts.Token).ConfigureAwait(false);
            }
        }
        finally
        {
            lock (_lock)
            {
                _streamEndpoint = null;
            }
            cts.Cancel();
            call.Dispose();
            if (reader != null)
            {
                try
                {
                    await reader.ConfigureAwait(false);
                }
                catch (Exception)
                {
                    // The stream is being dropped; its failure was handled or does not matter.
                }
            }
        }
    }

    private async Task ReadAsync(DuplexStreamingCall<LeaseKeepAliveRequest, LeaseKeepAliveResponse> call, Endpoint endpoint, CancellationToken cancellationToken)
    {
        while (await call.MoveNextAsync(cancellationToken).ConfigureAwait(false))
        {
            OnAnswer(endpoint, call.Current);
        }
        throw new RpcException(StatusCode.Unavailable, "lease keep-alive stream ended by the server");
    }

    /// <summary>Routes an answer to its lease's consumers; TTL &lt;= 0 ends them with "lease not found".</summary>
    private void OnAnswer(Endpoint endpoint, LeaseKeepAliveResponse answer)
    {
        if (!_streamAnswered)
        {
            _streamAnswered = true;
            _pool.ReportSuccess(endpoint);
        }
        var now = DateTime.UtcNow;
        KeepAliveConsumer[] consumers;
        var gone = answer.TTL <= 0;
        lock (_lock)
        {
            if (!_leases.TryGetValue(answer.ID, out var lease))
            {
                return; // its consumers left meanwhile
            }
            consumers = lease.Consumers.ToArray();
            if (gone)
            {
                _leases.Remove(answer.ID);
            }
            else
            {
                lease.SentAt = null;
                lease.LastError = null;
                lease.Deadline = now + TimeSpan.FromSeconds(answer.TTL);
                var beat = TimeSpan.FromSeconds(answer.TTL / 3.0);
                lease.NextSend = now + (beat > MinBeat ? beat : MinBeat);
            }
        }
        if (gone)
        {
            var error = EtcdException.From(EtcdErrors.LeaseNotFound(), endpoint.Address);
            foreach (var c in consumers)
            {
                c.Finish(error);
            }
            return;
        }
        foreach (var c in consumers)
        {
            c.Deliver(answer);
        }
    }

    /// <summary>
    /// Ends the leases past their deadline, marks the due ones as sent and returns their ids (null
    /// when no lease is left) and how long to sleep. Throws when a keep-alive went unanswered past
    /// the answer bound: the member is frozen or lost the stream.
    /// </summary>
    private List<long>? NextBeats(Endpoint endpoint, out TimeSpan sleep)
    {
        ExpireOverdue(endpoint);
        var now = DateTime.UtcNow;
        var bound = AnswerBound();
        var nap = MaxSleep;
        List<long>? due = null;
        lock (_lock)
        {
            if (_leases.Count == 0)
            {
                sleep = TimeSpan.Zero;
                return null;
            }
            foreach (var lease in _leases.Values)
            {
                nap = Shorter(nap, lease.Deadline - now);
                if (lease.SentAt is { } sent)
                {
                    if (bound is { } b)
                    {
                        if (now - sent >= b)
                        {
                            throw new RpcException(StatusCode.Unavailable,
                                $"etcdclient: lease keep-alive not answered within {b.TotalMilliseconds} ms");
                        }
                        nap = Shorter(nap, sent + b - now);
                    }
                }
                else if (lease.NextSend <= now)
                {
                    (due ??= new List<long>()).Add(lease.Id);
                    lease.SentAt = now;
                }
                else
                {
                    nap = Shorter(nap, lease.NextSend - now);
                }
            }
        }
        sleep = nap > TimeSpan.FromMilliseconds(1) ? nap : TimeSpan.FromMilliseconds(1);
        return due ?? [];
    }

    private static TimeSpan Shorter(TimeSpan a, TimeSpan b) => a < b ? a : b;

    /// <summary>How long a keep-alive may go unanswered before the stream is given up, or null for no bound.</summary>
    private TimeSpan? AnswerBound()
    {
        var bound = _options.ReadAttemptTimeout;
        return bound == Timeout.InfiniteTimeSpan || bound <= TimeSpan.Zero ? null : bound;
    }

    /// <summary>Ends the keep-alives whose lease would have expired unanswered, with the last stream error.</summary>
    private void ExpireOverdue(Endpoint? endpoint)
    {
        var now = DateTime.UtcNow;
        List<KeptLease>? expired = null;
        lock (_lock)
        {
            foreach (var lease in _leases.Values)
            {
                if (now >= lease.Deadline)
                {
                    (expired ??= new List<KeptLease>()).Add(lease);
                }
            }
            foreach (var lease in expired ?? [])
            {
                _leases.Remove(lease.Id);
            }
        }
        foreach (var lease in expired ?? [])
        {
            var error = lease.LastError ?? new EtcdException(StatusCode.DeadlineExceeded,
                $"etcdclient: no keep-alive answer for lease {lease.Id} before it would expire", endpoint?.Address);
            _options.Log?.Invoke($"lease {lease.Id} keep-alive gave up: {error.Status}: {error.Message}");
            foreach (var c in lease.Consumers)
            {
                c.Finish(error);
            }
        }
    }

    private void OnStreamFailed(Endpoint endpoint, Exception e)
    {
        var rpc = e as RpcException ?? new RpcException(StatusCode.Unavailable, e.Message, e);
        var error = EtcdException.From(rpc, endpoint.Address);
        if (FailureClassifier.IsTerminal(rpc))
        {
            // The member refuses the call itself (unimplemented, auth): another endpoint will not do better.
            _options.Log?.Invoke($"lease keep-alive stream on {endpoint.Address} refused: {rpc.Status}: {rpc.Message}");
            FinishAll(error);
            return;
        }
        _pool.ReportFailure(endpoint);
        _options.Log?.Invoke($"lease keep-alive stream on {endpoint.Address} broke ({rpc.Status}: {rpc.Message}); moving to another endpoint");
        lock (_lock)
        {
            foreach (var lease in _leases.Values)
            {
                lease.LastError = error;
                if (lease.SentAt != null)
                {
                    // Unanswered here: send it again at once on the next stream.
                    lease.SentAt = null;
                    lease.NextSend = DateTime.MinValue;
                }
            }
        }
    }

    private void FinishAll(Exception? error)
    {
        List<KeepAliveConsumer> all;
        lock (_lock)
        {
            all = _leases.Values.SelectMany(l => l.Consumers).ToList();
            _leases.Clear();
        }
        foreach (var c in all)
        {
            c.Finish(error);
        }
    }

    /// <summary>Ends every keep-alive enumeration (normally) and closes the stream.</summary>
    public async ValueTask DisposeAsync()
    {
        Task? loop;
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }
            _disposed = true;
            loop = _loop;
        }
        FinishAll(null);
        _stop.Cancel();
        if (loop != null)
        {
            try
            {
                await loop.WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
            }
            catch (Exception)
            {
                // Closing the connections after this ends a loop stuck on one.
            }
        }
    }
}
