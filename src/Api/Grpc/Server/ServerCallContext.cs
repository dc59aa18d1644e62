using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Http;

namespace Cairn.Grpc;

/// <summary>
/// What a handler knows about its call: request metadata, the cancellation token (fires on client
/// cancel or reset, on the <c>grpc-timeout</c> deadline and on server shutdown), the deadline, the
/// peer, and response metadata it may add.
/// </summary>
public sealed class ServerCallContext
{
    private readonly GrpcServerCall _call;

    internal ServerCallContext(GrpcServerCall call, string method, DateTime? deadline, CancellationToken cancellationToken)
    {
        _call = call;
        Method = method;
        Deadline = deadline;
        CancellationToken = cancellationToken;
    }

    /// <summary>The full method path, e.g. <c>/etcdserverpb.KV/Range</c>.</summary>
    public string Method { get; }

    /// <summary>The call's deadline (UTC) from <c>grpc-timeout</c>, or null when the client set none.</summary>
    public DateTime? Deadline { get; }

    /// <summary>Fires when the client cancels or resets the stream, the deadline passes, or the server stops.</summary>
    public CancellationToken CancellationToken { get; }

    /// <summary>The underlying ASP.NET Core context (connection details, features). Do not write to its response.</summary>
    public HttpContext HttpContext => _call.HttpContext;

    /// <summary>All request headers (gRPC metadata plus HTTP/2 pseudo and transport headers).</summary>
    public IHeaderDictionary RequestHeaders => _call.HttpContext.Request.Headers;

    /// <summary>The remote address and port.</summary>
    public IPEndPoint? RemoteEndPoint
    {
        get
        {
            var connection = _call.HttpContext.Connection;
            return connection.RemoteIpAddress is { } ip ? new IPEndPoint(ip, connection.RemotePort) : null;
        }
    }

    /// <summary>The peer as <c>ip:port</c> (IPv6 in brackets), or "unknown".</summary>
    public string Peer => RemoteEndPoint?.ToString() ?? "unknown";

    /// <summary>The TLS client certificate, when the connection presented one.</summary>
    public X509Certificate2? ClientCertificate => _call.HttpContext.Connection.ClientCertificate;

    /// <summary>
    /// The first value of a metadata key (lower case, e.g. <c>hasleader</c>, <c>token</c>), or null.
    /// </summary>
    public string? GetHeader(string name)
    {
        var values = _call.HttpContext.Request.Headers[name];
        return values.Count == 0 ? null : values[0];
    }

    /// <summary>
    /// Adds response metadata sent with the response headers. Only valid before the first message
    /// is written; throws <see cref="InvalidOperationException"/> afterwards.
    /// </summary>
    public void AddResponseHeader(string name, string value) => _call.AddResponseHeader(name, value);

    /// <summary>Adds metadata sent in the trailers, next to <c>grpc-status</c>.</summary>
    public void AddResponseTrailer(string name, string value) => _call.AddResponseTrailer(name, value);

    /// <summary>
    /// Sends the response headers now, before any message (lets a client see that a long stream
    /// was accepted). Afterwards an error can no longer be a trailers-only response.
    /// </summary>
    public Task WriteResponseHeadersAsync() => _call.WriteResponseHeadersAsync();
}
