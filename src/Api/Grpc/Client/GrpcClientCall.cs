using System.Globalization;
using System.IO.Pipelines;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using Cairn.Protocol;
using Google.Protobuf;

namespace Cairn.Grpc.Client;

/// <summary>
/// The client side of one call: sends the request, checks the response headers, reads response
/// frames and ends with the status from the trailers. Every failure becomes an
/// <see cref="RpcException"/>; the deadline is enforced locally as well as sent to the server.
/// </summary>
internal sealed class GrpcClientCall<TResponse> : IDisposable where TResponse : class, IMessage<TResponse>
{
    private readonly GrpcChannel _channel;
    private readonly MessageParser<TResponse> _parser;
    private readonly HttpRequestMessage _request;
    private readonly StreamingRequestContent? _streamingContent;
    private readonly CancellationTokenSource _cts;
    private readonly CancellationTokenSource? _deadlineCts;
    private readonly CancellationToken _userToken;
    private Task<HttpResponseMessage>? _responseTask;
    private HttpResponseMessage? _response;
    private PipeReader? _body;
    private string? _encoding;
    private RpcException? _error;
    private bool _finished;
    private volatile bool _disposed;

    public GrpcClientCall(GrpcChannel channel, string path, HttpContent content, MessageParser<TResponse> parser,
        IEnumerable<KeyValuePair<string, string>>? headers, DateTime? deadline, CancellationToken cancellationToken)
    {
        _channel = channel;
        _parser = parser;
        _userToken = cancellationToken;
        _streamingContent = content as StreamingRequestContent;
        _request = new HttpRequestMessage(HttpMethod.Post, new Uri(channel.Address, path))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = content,
        };
        var requestHeaders = _request.Headers;
        requestHeaders.TryAddWithoutValidation("te", "trailers");
        requestHeaders.TryAddWithoutValidation("user-agent", channel.Options.UserAgent);
        if (headers != null)
        {
            foreach (var (name, value) in headers)
            {
                requestHeaders.TryAddWithoutValidation(name, value);
            }
        }
        if (deadline is { } d)
        {
            var remaining = d.ToUniversalTime() - DateTime.UtcNow;
            if (remaining < TimeSpan.Zero)
            {
                remaining = TimeSpan.Zero;
            }
            requestHeaders.TryAddWithoutValidation(GrpcProtocol.TimeoutHeader, GrpcTimeout.Format(remaining));
            _deadlineCts = remaining > TimeSpan.FromDays(30) ? new CancellationTokenSource() : new CancellationTokenSource(remaining);
            _cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _deadlineCts.Token, channel.DisposedToken);
        }
        else
        {
            _cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, channel.DisposedToken);
        }
    }

    /// <summary>The final status, once the call has ended.</summary>
    public StatusCode? Status { get; private set; }

    /// <summary>The final status message, once the call has ended.</summary>
    public string? StatusMessage { get; private set; }

    /// <summary>The trailers, once the call has ended with a trailers frame.</summary>
    public HttpResponseHeaders? Trailers { get; private set; }

    /// <summary>Sends the request; the response is awaited by the first read.</summary>
    public void Start() => _responseTask = SendAsync();

    /// <summary>The response headers (after they arrive).</summary>
    public async Task<HttpResponseHeaders> GetResponseHeadersAsync()
    {
        try
        {
            return (await _responseTask!.ConfigureAwait(false)).Headers;
        }
        catch (Exception e)
        {
            throw Fail(e);
        }
    }

    private async Task<HttpResponseMessage> SendAsync()
    {
        if (_deadlineCts is { IsCancellationRequested: true })
        {
            // grpc-go fails a call whose deadline already passed without sending it.
            throw Fail(new OperationCanceledException(_cts.Token));
        }
        try
        {
            return await _channel.Invoker.SendAsync(_request, _cts.Token).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            throw Fail(e);
        }
    }

    /// <summary>
    /// Reads the next response message; null when the call ended with OK. Throws the call's
    /// <see cref="RpcException"/> otherwise (again on every later read). Cancelling
    /// <paramref name="cancellationToken"/> cancels the whole call.
    /// </summary>
    public async ValueTask<TResponse?> ReadAsync(CancellationToken cancellationToken)
    {
        if (_error != null)
        {
            throw _error;
        }
        if (_finished)
        {
            return null;
        }
        using var registration = cancellationToken.CanBeCanceled && cancellationToken != _userToken
            ? cancellationToken.UnsafeRegister(static s => ((CancellationTokenSource)s!).Cancel(), _cts)
            : default;
        try
        {
            if (_body == null)
            {
                var response = _response ??= await _responseTask!.ConfigureAwait(false);
                if (!await OpenBodyAsync(response).ConfigureAwait(false))
                {
                    return null;
                }
            }
            var message = await GrpcMessageReader.ReadAsync(_body!, _parser, _channel.Options.MaxReceiveMessageSize, _encoding, isServer: false, _cts.Token)
                .ConfigureAwait(false);
            if (message != null)
            {
                return message;
            }
            // The body ended: now the trailers are in.
            var trailers = _response!.TrailingHeaders;
            Trailers = trailers;
            if (!TryGetStatus(trailers, out var code, out var text))
            {
                throw new RpcException(StatusCode.Internal, "server closed the stream without sending trailers");
            }
            return Finish(code, text);
        }
        catch (Exception e)
        {
            throw Fail(e);
        }
    }

    /// <summary>Checks the response headers; false when they already carry the final status (trailers-only).</summary>
    private async Task<bool> OpenBodyAsync(HttpResponseMessage response)
    {
        if (TryGetStatus(response.Headers, out var code, out var text))
        {
            Finish(code, text);
            return false;
        }
        if (response.StatusCode != HttpStatusCode.OK)
        {
            throw new RpcException(FromHttpStatus(response.StatusCode),
                $"unexpected HTTP status code received from server: {(int)response.StatusCode} ({response.ReasonPhrase ?? response.StatusCode.ToString()})");
        }
        var contentType = response.Content.Headers.ContentType?.ToString();
        if (!GrpcProtocol.IsGrpcContentType(contentType))
        {
            throw new RpcException(StatusCode.Unknown, $"transport: received unexpected content-type \"{contentType}\"");
        }
        _encoding = response.Headers.TryGetValues(GrpcProtocol.EncodingHeader, out var encodings) ? encodings.FirstOrDefault() : null;
        var stream = await response.Content.ReadAsStreamAsync(_cts.Token).ConfigureAwait(false);
        _body = PipeReader.Create(stream, new StreamPipeReaderOptions(leaveOpen: true));
        return true;
    }

    private TResponse? Finish(StatusCode code, string message)
    {
        Status = code;
        StatusMessage = message;
        if (code != StatusCode.OK)
        {
            throw new RpcException(code, message);
        }
        _finished = true;
        _streamingContent?.Complete();
        ReleaseResponse();
        return null;
    }

    private static bool TryGetStatus(HttpHeaders headers, out StatusCode code, out string message)
    {
        code = StatusCode.Unknown;
        message = string.Empty;
        if (!headers.TryGetValues(GrpcProtocol.StatusHeader, out var values))
        {
            return false;
        }
        var raw = values.FirstOrDefault();
        if (!int.TryParse(raw, NumberStyles.None, CultureInfo.InvariantCulture, out var number))
        {
            code = StatusCode.Unknown;
            message = $"grpc: malformed grpc-status: \"{raw}\"";
            return true;
        }
        code = (StatusCode)number;
        if (headers.TryGetValues(GrpcProtocol.MessageHeader, out var messages))
        {
            message = GrpcStatusMessage.Decode(messages.FirstOrDefault());
        }
        return true;
    }

    /// <summary>Writes one request message of a duplex call.</summary>
    public async Task WriteAsync(IMessage message, CancellationToken cancellationToken)
    {
        if (_error != null)
        {
            throw _error;
        }
        if (_finished)
        {
            throw new InvalidOperationException("The call has completed; no more messages can be written.");
        }
        using var registration = cancellationToken.CanBeCanceled && cancellationToken != _userToken
            ? cancellationToken.UnsafeRegister(static s => ((CancellationTokenSource)s!).Cancel(), _cts)
            : default;
        try
        {
            await _streamingContent!.WriteAsync(message, _cts.Token).ConfigureAwait(false);
        }
        catch (InvalidOperationException) when (_streamingContent!.IsCompleted && _error == null && !_finished)
        {
            throw;
        }
        catch (Exception e)
        {
            if (_error != null)
            {
                throw _error;
            }
            throw Fail(e);
        }
    }

    /// <summary>Half-closes the request stream of a duplex call.</summary>
    public void CompleteRequest() => _streamingContent?.Complete();

    /// <summary>Records the call's terminal error (the first one wins) and tears the stream down.</summary>
    private RpcException Fail(Exception e)
    {
        if (_error != null)
        {
            return _error;
        }
        var error = Map(e);
        _error = error;
        Status = error.Status;
        StatusMessage = error.Message;
        // Cancelling resets the HTTP/2 stream if it is still open, so the server learns of it.
        try
        {
            _cts.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
        _streamingContent?.Fail(error);
        ReleaseResponse();
        return error;
    }

    private RpcException Map(Exception e)
    {
        if (e is RpcException rpc)
        {
            return rpc;
        }
        if (_deadlineCts is { IsCancellationRequested: true })
        {
            return new RpcException(StatusCode.DeadlineExceeded, "context deadline exceeded", e);
        }
        if (_disposed)
        {
            return new RpcException(StatusCode.Cancelled, "grpc: the call was disposed", e);
        }
        if (_channel.IsDisposed)
        {
            return new RpcException(StatusCode.Cancelled, "grpc: the channel was disposed", e);
        }
        if (_cts.IsCancellationRequested)
        {
            return new RpcException(StatusCode.Cancelled, "context canceled", e);
        }
        for (var inner = e; inner != null; inner = inner.InnerException)
        {
            if (inner is HttpProtocolException protocol)
            {
                return FromHttp2Error(protocol);
            }
        }
        return e switch
        {
            ObjectDisposedException =>
                new RpcException(StatusCode.Cancelled, "grpc: the channel was disposed", e),
            HttpRequestException { InnerException: SocketException socket } =>
                new RpcException(StatusCode.Unavailable, $"connection error: {socket.Message} ({_channel.Address.Authority})", e),
            HttpRequestException or IOException =>
                new RpcException(StatusCode.Unavailable, $"connection error: {e.Message}", e),
            OperationCanceledException =>
                new RpcException(StatusCode.Unavailable, $"connection error: {e.Message}", e),
            _ => new RpcException(StatusCode.Internal, $"grpc: client error: {e.Message}", e),
        };
    }

    /// <summary>RST_STREAM codes as the gRPC spec maps them; a closed connection is UNAVAILABLE.</summary>
    private static RpcException FromHttp2Error(HttpProtocolException e)
    {
        // SocketsHttpHandler reports a GOAWAY/connection close with the same exception type as a
        // stream reset; only the text tells them apart. A server that goes away (e.g. shutting
        // down) is UNAVAILABLE to gRPC clients, as in grpc-go's "transport is closing".
        if (e.Message.Contains("closed the connection", StringComparison.OrdinalIgnoreCase))
        {
            return new RpcException(StatusCode.Unavailable, $"transport is closing: {e.Message}", e);
        }
        var (code, name) = e.ErrorCode switch
        {
            0x0 => (StatusCode.Internal, "NO_ERROR"),
            0x1 => (StatusCode.Internal, "PROTOCOL_ERROR"),
            0x2 => (StatusCode.Internal, "INTERNAL_ERROR"),
            0x3 => (StatusCode.Internal, "FLOW_CONTROL_ERROR"),
            0x7 => (StatusCode.Unavailable, "REFUSED_STREAM"),
            0x8 => (StatusCode.Cancelled, "CANCEL"),
            0xB => (StatusCode.ResourceExhausted, "ENHANCE_YOUR_CALM"),
            0xC => (StatusCode.PermissionDenied, "INADEQUATE_SECURITY"),
            _ => (StatusCode.Internal, $"0x{e.ErrorCode:x}"),
        };
        return new RpcException(code, $"stream terminated by RST_STREAM with error code: {name}", e);
    }

    /// <summary>The gRPC spec's mapping for responses that are not gRPC at all.</summary>
    private static StatusCode FromHttpStatus(HttpStatusCode status) => (int)status switch
    {
        400 => StatusCode.Internal,
        401 => StatusCode.Unauthenticated,
        403 => StatusCode.PermissionDenied,
        404 => StatusCode.Unimplemented,
        429 or 502 or 503 or 504 => StatusCode.Unavailable,
        _ => StatusCode.Unknown,
    };

    private void ReleaseResponse()
    {
        var body = _body;
        _body = null;
        try
        {
            // May race with a read on another thread (Dispose during MoveNextAsync); that read
            // then fails and reports the error already recorded.
            body?.Complete();
        }
        catch (InvalidOperationException)
        {
        }
        _response?.Dispose();
    }

    public void Dispose()
    {
        if (!_finished && _error == null)
        {
            _disposed = true;
            Fail(new OperationCanceledException("The call was disposed."));
        }
        _response?.Dispose();
        _request.Dispose();
        _cts.Dispose();
        _deadlineCts?.Dispose();
    }
}
