using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Cairn.Grpc;

/// <summary>Installs the gRPC server into an ASP.NET Core pipeline.</summary>
public static class GrpcApplicationBuilderExtensions
{
    /// <summary>
    /// Serves the registry's methods. gRPC requests (a registered path or a gRPC content type) are
    /// answered here; anything else goes on to the next middleware. Calls end with UNAVAILABLE
    /// when the application starts stopping.
    /// </summary>
    /// <param name="app">The application, e.g. a <c>WebApplication</c>.</param>
    /// <param name="registry">The methods to serve.</param>
    /// <param name="options">Limits; defaults when null.</param>
    public static IApplicationBuilder UseGrpc(this IApplicationBuilder app, GrpcServiceRegistry registry, GrpcServerOptions? options = null)
    {
        var services = app.ApplicationServices;
        var stopping = services.GetService<IHostApplicationLifetime>()?.ApplicationStopping ?? default;
        var logger = services.GetService<ILoggerFactory>()?.CreateLogger<GrpcServer>();
        var server = new GrpcServer(registry, options, logger, stopping);
        return app.Use(next => context => server.IsGrpcRequest(context) ? server.HandleAsync(context) : next(context));
    }
}
