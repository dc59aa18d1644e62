using Cairn.Grpc.Client;
using Cairn.Protocol;
using Etcdserverpb;

namespace Cairn.Client;

/// <summary>
/// The LeaseKeepAlive stream behind <see cref="EtcdClient.LeaseKeepAlive"/>: one request, one
/// answer at a time on the pinned endpoint. A keep-alive only restarts the lease's clock, so
/// re-sending it is harmless: when the stream breaks, or an answer does not come within
/// <see cref="EtcdClientOptions.ReadAttemptTimeout"/> (a frozen member), the stream is dropped, the
/// endpoint quarantined and the keep-alive sent again on the next endpoint, until the deadline
/// the caller gives (the moment the lease would expire).
/// </summary>
internal sealed class LeaseKeepAliveStream : IDisposable
{
    private const string Path = "/etcdserverpb.Lease/LeaseKeepAlive";

    private readonly EndpointPool _pool;
    private readonly EtcdClientOptions _options;
    private DuplexStreamingCall<LeaseKeepAliveRequest, LeaseKeepAliveResponse>? _call;

    public LeaseKeepAliveStream(EndpointPool pool, EtcdClientOptions options)
    {
        _pool = pool;
        _options = options;
    }

    /// <summary>The endpoint of the open stream, or null.</summary>
    public Endpoint? Endpoint { get; private set; }

    /// <summary>Sends one keep-alive and returns its answer, trying endpoints until <paramref name="deadline"/> (UTC).</summary>
    public async Task<LeaseKeepAliveResponse> KeepAliveAsync(LeaseKeepAliveRequest request, DateTime deadline, CancellationToken cancellationToken)
    {
        EtcdException? last = null;
        for (var attempt = 0; ; attempt++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var remaining = deadline - DateTime.UtcNow;
            if (remaining <= TimeSpan.Zero)
            {
                throw last ?? new EtcdException(StatusCode.DeadlineExceeded, "context deadline exceeded");
            }
            var endpoint = Endpoint ?? _pool.Pick();
            var bound = _options.ReadAttemptTimeout;
            using var attemptCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            attemptCts.CancelAfter(bound == Timeout.InfiniteTimeSpan || bound <= TimeSpan.Zero || bound > remaining ? remaining : bound);
            try
            {
                if (_call == null)
                {
                    _call = endpoint.Channel.DuplexStreaming<LeaseKeepAliveRequest, LeaseKeepAliveResponse>(Path, LeaseKeepAliveResponse.Parser);
                    Endpoint = endpoint;
                }
                await _call.WriteAsync(request, attemptCts.Token).ConfigureAwait(false);
                if (!await _call.MoveNextAsync(attemptCts.Token).ConfigureAwait(false))
                {
                    throw new RpcException(StatusCode.Unavailable, "lease keep-alive stream ended by the server");
                }
                _pool.ReportSuccess(endpoint);
                return _call.Current;
            }
            catch (RpcException e) when (!cancellationToken.IsCancellationRequested)
            {
                last = EtcdException.From(e, endpoint.Address);
                if (FailureClassifier.Classify(e) == FailureKind.Final && !attemptCts.IsCancellationRequested)
                {
                    Reset();
                    throw last;
                }
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                last = new EtcdException(StatusCode.DeadlineExceeded, "context deadline exceeded", endpoint.Address);
            }
            // This endpoint did not answer: drop its stream and go round the others.
            Reset();
            _pool.ReportFailure(endpoint);
            _options.Log?.Invoke($"lease {request.ID} keep-alive on {endpoint.Address} failed ({last?.Status}: {last?.Message}); trying another endpoint");
            if (attempt >= _pool.Endpoints.Count - 1)
            {
                var pause = TimeSpan.FromMilliseconds(Math.Min(100 * (attempt + 1), 500));
                await Task.Delay(pause, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private void Reset()
    {
        _call?.Dispose();
        _call = null;
        Endpoint = null;
    }

    /// <summary>Cancels the stream (the server forgets it; the lease keeps its remaining TTL).</summary>
    public void Dispose() => Reset();
}
