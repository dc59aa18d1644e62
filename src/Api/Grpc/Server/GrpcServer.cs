using System.Globalization;
using Cairn.Protocol;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Cairn.Grpc;

/// <summary>
/// Serves gRPC calls from ASP.NET Core requests: validates the request, finds the method, runs it
/// under a token tied to the client, the deadline and server shutdown, and ends every call with a
/// status. Usually installed with <see cref="GrpcApplicationBuilderExtensions.UseGrpc"/>.
/// </summary>
public sealed class GrpcServer
{
    private static readonly TimeSpan SlowHandlerWarning = TimeSpan.FromSeconds(2);
    private readonly GrpcServiceRegistry _registry;
    private readonly GrpcServerOptions _options;
    private readonly ILogger _logger;
    private readonly CancellationToken _stopping;

    /// <summary>Creates the server.</summary>
    /// <param name="registry">The methods to serve.</param>
    /// <param name="options">Limits; defaults when null.</param>
    /// <param name="logger">Where handler failures are logged; none when null.</param>
    /// <param name="stopping">
    /// Fires when the server begins to stop (<c>IHostApplicationLifetime.ApplicationStopping</c>):
    /// running calls then end with UNAVAILABLE so shutdown does not wait on long streams.
    /// </param>
    public GrpcServer(GrpcServiceRegistry registry, GrpcServerOptions? options = null, ILogger? logger = null, CancellationToken stopping = default)
    {
        _registry = registry;
        _options = options ?? new GrpcServerOptions();
        _logger = logger ?? NullLogger.Instance;
        _stopping = stopping;
    }

    /// <summary>
    /// True when the request is for this server: a registered path, or any gRPC content type
    /// (so unknown methods get UNIMPLEMENTED rather than an HTTP 404).
    /// </summary>
    public bool IsGrpcRequest(HttpContext context) =>
        _registry.Find(context.Request.Path.Value ?? string.Empty) != null
        || GrpcProtocol.IsGrpcContentType(context.Request.ContentType);

    /// <summary>Serves one request as a gRPC call. Never throws for anything the client sent.</summary>
    public async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var response = context.Response;
        // Long-lived calls read and write nothing for minutes; Kestrel's data-rate guard would reset
        // them after ~5 s, and its body-size limit would cut a long Watch/LeaseKeepAlive stream.
        // The receive limit is enforced per message instead.
        DisableBodyLimits(context);

        if (!HttpProtocol.IsHttp2(request.Protocol))
        {
            // gRPC needs HTTP/2 (trailers, full duplex). Only reachable on a listener that also
            // allows HTTP/1.1, which GrpcKestrel never configures.
            response.StatusCode = StatusCodes.Status426UpgradeRequired;
            response.Headers.Connection = "Upgrade";
            response.Headers.Upgrade = "h2";
            return;
        }
        if (!HttpMethods.IsPost(request.Method))
        {
            await EarlyErrorAsync(context, StatusCodes.Status405MethodNotAllowed, StatusCode.Internal,
                $"invalid gRPC request method \"{request.Method}\"").ConfigureAwait(false);
            return;
        }
        if (!GrpcProtocol.IsGrpcContentType(request.ContentType))
        {
            // grpc-go answers HTTP 415 with INVALID_ARGUMENT in the headers.
            await EarlyErrorAsync(context, StatusCodes.Status415UnsupportedMediaType, StatusCode.InvalidArgument,
                $"invalid gRPC request content-type \"{request.ContentType}\"").ConfigureAwait(false);
            return;
        }
        response.ContentType = GrpcProtocol.ContentType;

        var path = request.Path.Value ?? string.Empty;
        var method = _registry.Find(path);
        if (method == null)
        {
            await EarlyErrorAsync(context, StatusCodes.Status200OK, StatusCode.Unimplemented, UnknownMethodMessage(path)).ConfigureAwait(false);
            return;
        }

        TimeSpan? timeout = null;
        var timeoutHeader = request.Headers[GrpcProtocol.TimeoutHeader];
        if (timeoutHeader.Count > 0)
        {
            if (!GrpcTimeout.TryParse(timeoutHeader[0], out var t))
            {
                await EarlyErrorAsync(context, StatusCodes.Status200OK, StatusCode.Internal,
                    $"transport: malformed grpc-timeout: \"{timeoutHeader[0]}\"").ConfigureAwait(false);
                return;
            }
            timeout = t;
        }

        using var call = new GrpcServerCall(context, path, timeout, _stopping, _options.MaxReceiveMessageSize);
        await RunAsync(call, method).ConfigureAwait(false);
    }

    private async Task RunAsync(GrpcServerCall call, GrpcMethod method)
    {
        Task handlerTask;
        try
        {
            handlerTask = method.InvokeAsync(call);
        }
        catch (Exception e)
        {
            handlerTask = Task.FromException(e);
        }

        if (!handlerTask.IsCompleted)
        {
            var fired = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            using (call.CancellationToken.UnsafeRegister(static s => ((TaskCompletionSource)s!).TrySetResult(), fired))
            {
                await Task.WhenAny(handlerTask, fired.Task).ConfigureAwait(false);
            }
        }

        if (!handlerTask.IsCompleted)
        {
            // Deadline, shutdown or client reset while the handler is still busy: tell the client
            // now (it must not wait for a handler that ignores its token), then wait for the
            // handler anyway, because the HttpContext must outlive every use of it.
            var status = call.CancellationStatus();
            if (status is { } s)
            {
                await call.FinishAsync(s.Code, s.Message).ConfigureAwait(false);
            }
            try
            {
                if (await Task.WhenAny(handlerTask, Task.Delay(SlowHandlerWarning)).ConfigureAwait(false) != handlerTask)
                {
                    // The request (and so a graceful shutdown) waits for this handler: say which one.
                    _logger.LogWarning("gRPC handler for {Method} still runs {Seconds} s after its call was cancelled ({Reason}); it should observe ServerCallContext.CancellationToken",
                        method.Path, SlowHandlerWarning.TotalSeconds, status?.Message ?? "client went away");
                }
                await handlerTask.ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or RpcException or IOException)
            {
                // Expected: the handler noticed the cancellation.
            }
            catch (Exception e)
            {
                _logger.LogWarning(e, "gRPC handler for {Method} failed after its call was cancelled", method.Path);
            }
            return;
        }

        var error = handlerTask.IsFaulted
            ? handlerTask.Exception!.InnerException
            : handlerTask.IsCanceled ? new OperationCanceledException() : null;
        if (error == null)
        {
            await call.FinishAsync(StatusCode.OK, null).ConfigureAwait(false);
            return;
        }
        if (call.ClientGone)
        {
            return; // Nobody to tell, and not a server fault: no log noise.
        }
        if (call.CancellationStatus() is { } cancelled
            && (error is OperationCanceledException || (error is RpcException { Status: StatusCode.Cancelled })))
        {
            await call.FinishAsync(cancelled.Code, cancelled.Message).ConfigureAwait(false);
            return;
        }
        if (error is RpcException rpc)
        {
            await call.FinishAsync(rpc.Status, rpc.Message).ConfigureAwait(false);
            return;
        }
        _logger.LogError(error, "gRPC handler for {Method} failed", method.Path);
        await call.FinishAsync(StatusCode.Internal, "grpc: internal server error").ConfigureAwait(false);
    }

    /// <summary>grpc-go's words for a path nobody serves.</summary>
    private string UnknownMethodMessage(string path)
    {
        if (!GrpcServiceRegistry.TrySplit(path, out var service, out var method))
        {
            return $"malformed method name: \"{path}\"";
        }
        return _registry.HasService(service)
            ? $"unknown method {method} for service {service}"
            : $"unknown service {service}";
    }

    /// <summary>
    /// A response with the status in the headers and no body, sent before reading any request
    /// data (Kestrel resets the rest of the request stream).
    /// </summary>
    private static Task EarlyErrorAsync(HttpContext context, int httpStatus, StatusCode code, string message)
    {
        var response = context.Response;
        response.StatusCode = httpStatus;
        response.ContentType = GrpcProtocol.ContentType;
        response.Headers[GrpcProtocol.StatusHeader] = ((int)code).ToString(CultureInfo.InvariantCulture);
        response.Headers[GrpcProtocol.MessageHeader] = GrpcStatusMessage.Encode(message);
        return response.CompleteAsync();
    }

    private static void DisableBodyLimits(HttpContext context)
    {
        if (context.Features.Get<IHttpMinRequestBodyDataRateFeature>() is { } rate)
        {
            rate.MinDataRate = null;
        }
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
        {
            size.MaxRequestBodySize = null;
        }
        if (context.Features.Get<IHttpMinResponseDataRateFeature>() is { } responseRate)
        {
            try
            {
                responseRate.MinDataRate = null;
            }
            catch (NotSupportedException)
            {
                // HTTP/2 streams may not support a per-stream response rate; the listener-wide
                // setting from GrpcKestrel covers it.
            }
        }
    }
}
