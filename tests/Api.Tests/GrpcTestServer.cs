using System.Collections.Concurrent;
using Cairn.Grpc;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Cairn.Api.Tests;

/// <summary>A real Kestrel on 127.0.0.1 with a free port, serving a registry (or a raw delegate).</summary>
public sealed class GrpcTestServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private GrpcTestServer(WebApplication app, Uri address, TestLoggerProvider logs)
    {
        _app = app;
        Address = address;
        Logs = logs;
    }

    public Uri Address { get; }

    public TestLoggerProvider Logs { get; }

    public WebApplication App => _app;

    public static Task<GrpcTestServer> StartAsync(GrpcServiceRegistry registry, GrpcServerOptions? options = null) =>
        StartCoreAsync(app => app.UseGrpc(registry, options));

    /// <summary>A server on the given listen URLs (e.g. https with certificate files).</summary>
    public static Task<GrpcTestServer> StartAsync(GrpcServiceRegistry registry, IEnumerable<Uri> urls, GrpcTlsOptions? tls) =>
        StartCoreAsync(app => app.UseGrpc(registry), urls, tls);

    /// <summary>A plain Kestrel h2c endpoint with no gRPC code of ours: for client misbehaviour tests.</summary>
    public static Task<GrpcTestServer> StartRawAsync(RequestDelegate handler) =>
        StartCoreAsync(app => app.Run(handler));

    private static async Task<GrpcTestServer> StartCoreAsync(Action<WebApplication> configure, IEnumerable<Uri>? urls = null, GrpcTlsOptions? tls = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        var logs = new TestLoggerProvider();
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(logs);
        builder.Logging.SetMinimumLevel(LogLevel.Debug);
        builder.WebHost.ConfigureKestrel(o => GrpcKestrel.Configure(o, urls ?? [new Uri("http://127.0.0.1:0")], tls));
        builder.Services.Configure<Microsoft.Extensions.Hosting.HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(5));
        var app = builder.Build();
        configure(app);
        await app.StartAsync();
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
        return new GrpcTestServer(app, new Uri(addresses.First()), logs);
    }

    public Task StopAsync() => _app.StopAsync();

    public async ValueTask DisposeAsync()
    {
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await _app.StopAsync(cts.Token);
        }
        catch (Exception)
        {
            // Already stopped.
        }
        await _app.DisposeAsync();
    }
}

/// <summary>Captures log entries so tests can assert there is no exception noise.</summary>
public sealed class TestLoggerProvider : ILoggerProvider
{
    public ConcurrentQueue<(LogLevel Level, string Category, string Message, Exception? Exception)> Entries { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    public IEnumerable<string> Errors(LogLevel atLeast = LogLevel.Warning) =>
        Entries.Where(e => e.Level >= atLeast).Select(e => $"{e.Level} {e.Category}: {e.Message} {e.Exception}");

    private sealed class Logger(TestLoggerProvider owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner.Entries.Enqueue((logLevel, category, formatter(state, exception), exception));
    }
}
