using System.IO.Pipelines;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Cairn.Grpc;

/// <summary>
/// Kestrel connection middleware that lets clients sending <c>:authority: http://host:port</c> in (etcdctl 3.4's
/// <c>endpoint status --cluster</c>, through grpc-go) be served: Kestrel resets those streams as an invalid Host, and
/// neither <see cref="KestrelServerOptions"/> nor <see cref="Http2Limits"/> has a switch for it
/// (<c>AllowHostHeaderOverride</c> is about HTTP/1.1 absolute-form targets, <c>AllowAlternateSchemes</c> about
/// <c>:scheme</c>). See <see cref="Http2AuthorityReader"/>.
/// </summary>
internal static class Http2AuthorityMiddleware
{
    /// <summary>
    /// Adds the middleware to <paramref name="listen"/>. Call it after <c>UseHttps</c>: connection middleware runs in
    /// the order added, so it then sees the decrypted HTTP/2 bytes (TLS listeners are covered as well as h2c).
    /// </summary>
    public static void UseHttp2AuthorityFix(this ListenOptions listen, KestrelServerOptions options)
    {
        var logger = listen.ApplicationServices?.GetService<ILoggerFactory>()?.CreateLogger("Cairn.Grpc.Http2Authority")
            ?? NullLogger.Instance;
        listen.Use(next => async connection =>
        {
            var transport = connection.Transport;
            var reader = new Http2AuthorityReader(transport.Input, options.Limits.Http2.HeaderTableSize, logger, connection.ConnectionId);
            connection.Transport = new DuplexPipe(reader, transport.Output);
            try
            {
                await next(connection).ConfigureAwait(false);
            }
            finally
            {
                connection.Transport = transport;
                await reader.Stopped.ConfigureAwait(false);
            }
        });
    }

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }
}
