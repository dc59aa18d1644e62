using Cairn.Protocol;
using Google.Protobuf;

namespace Cairn.Client;

/// <summary>
/// Runs unary calls on the pinned endpoint with a deadline, rotating endpoints on failure.
/// Retry rule (see <see cref="FailureClassifier"/>): reads (<see cref="CallSafety.Idempotent"/>) are
/// retried on the next endpoint after any endpoint failure; writes only when the request provably
/// never reached a server. Every retry stays inside the caller's deadline. A read attempt is also
/// bounded by <see cref="EtcdClientOptions.ReadAttemptTimeout"/>, so a member that accepts the
/// request and never answers (frozen) costs one attempt, not the whole deadline.
/// </summary>
internal sealed class UnaryInvoker
{
    private static readonly KeyValuePair<string, string>[] RequireLeaderHeaders = [new("hasleader", "true")];

    private readonly EndpointPool _pool;
    private readonly EtcdClientOptions _options;

    public UnaryInvoker(EndpointPool pool, EtcdClientOptions options)
    {
        _pool = pool;
        _options = options;
    }

    public async Task<TResponse> CallAsync<TRequest, TResponse>(string path, TRequest request, MessageParser<TResponse> parser,
        CallSafety safety, CallOptions? options, CancellationToken cancellationToken)
        where TRequest : class, IMessage<TRequest>
        where TResponse : class, IMessage<TResponse>
    {
        var timeout = options?.Timeout ?? _options.CallTimeout;
        var deadline = DateTime.UtcNow + timeout;
        var headers = options?.RequireLeader == true ? RequireLeaderHeaders : null;
        // Each endpoint gets a couple of chances, bounded anyway by the deadline.
        var maxAttempts = Math.Max(3, _pool.Endpoints.Count * 2);
        EtcdException? last = null;
        for (var attempt = 0; attempt < maxAttempts; attempt++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (attempt > 0 && DateTime.UtcNow >= deadline)
            {
                break;
            }
            var endpoint = _pool.Pick();
            var attemptDeadline = AttemptDeadline(safety, deadline);
            try
            {
                var response = await endpoint.Channel.UnaryAsync(path, request, parser, headers, attemptDeadline, cancellationToken).ConfigureAwait(false);
                _pool.ReportSuccess(endpoint);
                return response;
            }
            catch (RpcException e)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var error = EtcdException.From(e, endpoint.Address);
                var kind = FailureClassifier.Classify(e);
                if (e.Status == StatusCode.DeadlineExceeded && attemptDeadline < deadline)
                {
                    // Only this attempt's bound passed (reads only): the member did not answer in time, try another.
                    kind = FailureKind.EndpointFailed;
                }
                if (kind == FailureKind.Final)
                {
                    throw error;
                }
                if (kind == FailureKind.EndpointFailed || kind == FailureKind.NotSent)
                {
                    _pool.ReportFailure(endpoint);
                    _options.Log?.Invoke($"call {path} on {endpoint.Address} failed ({e.Status}: {e.Message}); endpoint quarantined");
                }
                if (kind == FailureKind.EndpointFailed && safety == CallSafety.NotIdempotent)
                {
                    // The request may have reached the member and may still commit: re-sending it could apply it twice.
                    throw error;
                }
                last = error;
                if (attempt >= _pool.Endpoints.Count - 1)
                {
                    // A full round failed: pause a little before going round again.
                    var pause = TimeSpan.FromMilliseconds(Math.Min(50 * (attempt + 1), 500));
                    var remaining = deadline - DateTime.UtcNow;
                    if (remaining <= TimeSpan.Zero)
                    {
                        break;
                    }
                    await Task.Delay(pause < remaining ? pause : remaining, cancellationToken).ConfigureAwait(false);
                }
            }
        }
        throw last ?? new EtcdException(StatusCode.DeadlineExceeded, "context deadline exceeded");
    }

    /// <summary>The deadline of one attempt: the call's, or for a read the sooner per-attempt bound.</summary>
    private DateTime AttemptDeadline(CallSafety safety, DateTime deadline)
    {
        var perAttempt = _options.ReadAttemptTimeout;
        if (safety != CallSafety.Idempotent || perAttempt == Timeout.InfiniteTimeSpan || perAttempt <= TimeSpan.Zero)
        {
            return deadline;
        }
        var bounded = DateTime.UtcNow + perAttempt;
        return bounded < deadline ? bounded : deadline;
    }
}
