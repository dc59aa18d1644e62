using System.Net.Security;

namespace Cairn.Grpc.Client;

/// <summary>Settings of a <see cref="GrpcChannel"/>.</summary>
public sealed class GrpcChannelOptions
{
    /// <summary>
    /// Largest response message accepted (bytes); a larger one fails the call with
    /// RESOURCE_EXHAUSTED. Default: unlimited, like etcd's Go client.
    /// </summary>
    public int MaxReceiveMessageSize { get; set; } = int.MaxValue;

    /// <summary>Open extra HTTP/2 connections when one reaches the server's stream limit.</summary>
    public bool EnableMultipleHttp2Connections { get; set; }

    /// <summary>Interval of HTTP/2 keepalive PINGs; infinite (the default) disables them.</summary>
    public TimeSpan KeepAlivePingDelay { get; set; } = Timeout.InfiniteTimeSpan;

    /// <summary>How long a keepalive PING may go unanswered before the connection is dropped.</summary>
    public TimeSpan KeepAlivePingTimeout { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>Send keepalive PINGs even with no call in flight.</summary>
    public bool KeepAliveWithoutCalls { get; set; }

    /// <summary>Time allowed to open a TCP (and TLS) connection.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>TLS settings for https addresses (client certificates, server certificate validation).</summary>
    public SslClientAuthenticationOptions? SslOptions { get; set; }

    /// <summary>The <c>user-agent</c> header.</summary>
    public string UserAgent { get; set; } = "cairn-grpc/1.0";

    /// <summary>
    /// Use this handler instead of creating a <c>SocketsHttpHandler</c> (the options above that
    /// configure the handler are then ignored). The channel does not dispose it.
    /// </summary>
    public HttpMessageHandler? HttpHandler { get; set; }
}
