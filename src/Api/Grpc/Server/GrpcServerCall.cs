using System.Runtime.CompilerServices;
using Cairn.Protocol;
using Google.Protobuf;
using Microsoft.AspNetCore.Http;

namespace Cairn.Grpc;

/// <summary>
/// One gRPC call on the server: reads request frames, writes response frames, and ends the call
/// with a status exactly once. Writes and the final status share a lock because the status may be
/// sent by the deadline/shutdown path while the handler is still running.
/// </summary>
internal sealed class GrpcServerCall : IDisposable
{
    private static readonly TimeSpan MaxTimerTimeout = TimeSpan.FromDays(30);
    private readonly CancellationTokenSource _callCts;
    private readonly CancellationTokenSource? _deadlineCts;
    private readonly CancellationToken _stopping;
    private readonly int _maxReceiveMessageSize;
    private readonly string? _requestEncoding;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly object _trailerLock = new();
    private List<KeyValuePair<string, string>>? _trailers;
    private bool _messageWritten;
    private bool _completed;
    private volatile bool _clientGone;

    public GrpcServerCall(HttpContext httpContext, string method, TimeSpan? timeout, CancellationToken stopping, int maxReceiveMessageSize)
    {
        HttpContext = httpContext;
        _stopping = stopping;
        _maxReceiveMessageSize = maxReceiveMessageSize;
        _requestEncoding = httpContext.Request.Headers[GrpcProtocol.EncodingHeader].FirstOrDefault();
        DateTime? deadline = null;
        if (timeout is { } t)
        {
            // Timers take at most ~49 days; a longer timeout is as good as none for cancellation.
            if (t > MaxTimerTimeout)
            {
                t = MaxTimerTimeout;
            }
            deadline = DateTime.UtcNow + t;
            _deadlineCts = new CancellationTokenSource(t);
            _callCts = CancellationTokenSource.CreateLinkedTokenSource(httpContext.RequestAborted, stopping, _deadlineCts.Token);
        }
        else
        {
            _callCts = CancellationTokenSource.CreateLinkedTokenSource(httpContext.RequestAborted, stopping);
        }
        Context = new ServerCallContext(this, method, deadline, _callCts.Token);
    }

    public HttpContext HttpContext { get; }

    public ServerCallContext Context { get; }

    public CancellationToken CancellationToken => _callCts.Token;

    /// <summary>True when the client reset the stream or the connection dropped: nothing can be sent.</summary>
    public bool ClientGone => _clientGone || HttpContext.RequestAborted.IsCancellationRequested;

    /// <summary>
    /// The status for a call whose token fired, or null when the client is gone (then no status
    /// can reach it and none is sent).
    /// </summary>
    public (StatusCode Code, string Message)? CancellationStatus()
    {
        if (ClientGone)
        {
            return null;
        }
        if (_deadlineCts is { IsCancellationRequested: true })
        {
            return (StatusCode.DeadlineExceeded, "context deadline exceeded");
        }
        if (_stopping.IsCancellationRequested)
        {
            return (StatusCode.Unavailable, "grpc: the server is shutting down");
        }
        return null;
    }

    /// <summary>Reads the single request of a unary or server-streaming call, and the end of stream after it.</summary>
    public async Task<T> ReadSingleRequestAsync<T>(MessageParser<T> parser) where T : class, IMessage<T>
    {
        var message = await ReadMessageAsync(parser).ConfigureAwait(false)
            ?? throw new RpcException(StatusCode.Internal, "grpc: the request stream ended without a message (this method takes exactly one)");
        if (await ReadMessageAsync(parser).ConfigureAwait(false) != null)
        {
            throw new RpcException(StatusCode.Internal, "grpc: received a second request message on a method that takes exactly one");
        }
        return message;
    }

    /// <summary>The request messages of a duplex call, ending when the client half-closes.</summary>
    public async IAsyncEnumerable<T> ReadAllRequestsAsync<T>(MessageParser<T> parser, [EnumeratorCancellation] CancellationToken cancellationToken = default)
        where T : class, IMessage<T>
    {
        // The enumerator's token must stop a pending body read too: a handler that ends the call
        // itself (e.g. a watch stream cancelled for "no leader") leaves no reader blocked on a body
        // the server is about to complete.
        using var linked = cancellationToken.CanBeCanceled
            ? CancellationTokenSource.CreateLinkedTokenSource(CancellationToken, cancellationToken)
            : null;
        var token = linked?.Token ?? CancellationToken;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var message = await ReadMessageAsync(parser, token).ConfigureAwait(false);
            if (message == null)
            {
                yield break;
            }
            yield return message;
        }
    }

    private Task<T?> ReadMessageAsync<T>(MessageParser<T> parser) where T : class, IMessage<T> => ReadMessageAsync(parser, CancellationToken);

    private async Task<T?> ReadMessageAsync<T>(MessageParser<T> parser, CancellationToken token) where T : class, IMessage<T>
    {
        try
        {
            return await GrpcMessageReader.ReadAsync(HttpContext.Request.BodyReader, parser, _maxReceiveMessageSize, _requestEncoding, isServer: true, token)
                .ConfigureAwait(false);
        }
        catch (IOException e)
        {
            // Kestrel reports a client RST_STREAM or a dropped connection as an IOException on the
            // body; to handlers that is a cancellation, not a fault worth logging.
            _clientGone = true;
            throw new OperationCanceledException("The client reset the stream.", e, CancellationToken);
        }
    }

    /// <summary>Writes one framed message; flushes unless the caller is about to end the call anyway.</summary>
    public Task WriteMessageAsync(IMessage message, bool flush, CancellationToken cancellationToken)
    {
        // Unflushed write with the lock free: frame it synchronously, no linked token source
        // (nothing below waits, so there is nothing to cancel).
        if (!flush && _writeLock.Wait(0))
        {
            try
            {
                CancellationToken.ThrowIfCancellationRequested();
                cancellationToken.ThrowIfCancellationRequested();
                if (_completed)
                {
                    throw new OperationCanceledException("The call has already completed.", CancellationToken);
                }
                GrpcFrame.Write(HttpContext.Response.BodyWriter, message);
                _messageWritten = true;
                return Task.CompletedTask;
            }
            catch (Exception e)
            {
                return Task.FromException(e);
            }
            finally
            {
                _writeLock.Release();
            }
        }
        return WriteMessageSlowAsync(message, flush, cancellationToken);
    }

    /// <summary>Sends whatever earlier unflushed writes left in the response body.</summary>
    public Task FlushAsync(CancellationToken cancellationToken) => WriteMessageSlowAsync(null, flush: true, cancellationToken);

    private async Task WriteMessageSlowAsync(IMessage? message, bool flush, CancellationToken cancellationToken)
    {
        CancellationTokenSource? linked = null;
        var token = CancellationToken;
        if (cancellationToken.CanBeCanceled && cancellationToken != token)
        {
            linked = CancellationTokenSource.CreateLinkedTokenSource(token, cancellationToken);
            token = linked.Token;
        }
        try
        {
            await _writeLock.WaitAsync(token).ConfigureAwait(false);
            try
            {
                if (_completed)
                {
                    throw new OperationCanceledException("The call has already completed.", token);
                }
                var writer = HttpContext.Response.BodyWriter;
                if (message is not null)
                {
                    GrpcFrame.Write(writer, message);
                    _messageWritten = true;
                }
                if (flush)
                {
                    var result = await writer.FlushAsync(token).ConfigureAwait(false);
                    if (result.IsCompleted || result.IsCanceled)
                    {
                        _clientGone |= result.IsCompleted;
                        throw new OperationCanceledException("The response stream is closed.", token);
                    }
                }
            }
            finally
            {
                _writeLock.Release();
            }
        }
        finally
        {
            linked?.Dispose();
        }
    }

    public void AddResponseHeader(string name, string value)
    {
        if (_messageWritten || HttpContext.Response.HasStarted)
        {
            throw new InvalidOperationException("Response headers were already sent.");
        }
        HttpContext.Response.Headers.Append(name, value);
    }

    public void AddResponseTrailer(string name, string value)
    {
        lock (_trailerLock)
        {
            (_trailers ??= []).Add(new(name, value));
        }
    }

    public async Task WriteResponseHeadersAsync()
    {
        await _writeLock.WaitAsync(CancellationToken).ConfigureAwait(false);
        try
        {
            if (!_completed)
            {
                await HttpContext.Response.StartAsync(CancellationToken).ConfigureAwait(false);
                await HttpContext.Response.BodyWriter.FlushAsync(CancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>
    /// Ends the call with a status, once: as trailers after messages, or as a trailers-only
    /// response (status in the headers, no body) when nothing was sent yet.
    /// </summary>
    public async Task FinishAsync(StatusCode code, string? message)
    {
        await _writeLock.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_completed)
            {
                return;
            }
            _completed = true;
            var response = HttpContext.Response;
            var trailersOnly = !_messageWritten && !response.HasStarted;
            var status = ((int)code).ToString(System.Globalization.CultureInfo.InvariantCulture);
            var encoded = string.IsNullOrEmpty(message) ? null : GrpcStatusMessage.Encode(message);
            KeyValuePair<string, string>[] trailers;
            lock (_trailerLock)
            {
                trailers = _trailers?.ToArray() ?? [];
            }
            if (trailersOnly)
            {
                response.Headers[GrpcProtocol.StatusHeader] = status;
                if (encoded != null)
                {
                    response.Headers[GrpcProtocol.MessageHeader] = encoded;
                }
                foreach (var (name, value) in trailers)
                {
                    response.Headers.Append(name, value);
                }
            }
            else
            {
                response.AppendTrailer(GrpcProtocol.StatusHeader, status);
                if (encoded != null)
                {
                    response.AppendTrailer(GrpcProtocol.MessageHeader, encoded);
                }
                foreach (var (name, value) in trailers)
                {
                    response.AppendTrailer(name, value);
                }
            }
            if (ClientGone)
            {
                return;
            }
            try
            {
                // Completing now (rather than when the middleware returns) sends the status at once,
                // which matters on the deadline/shutdown path where the handler may still be running.
                await response.CompleteAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or OperationCanceledException or InvalidOperationException)
            {
                _clientGone = true;
            }
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public void Dispose()
    {
        _callCts.Dispose();
        _deadlineCts?.Dispose();
    }
}
