using Cairn.Grpc;
using Cairn.Mvcc;
using Cairn.Node;
using Cairn.Node.Services;
using Cairn.Watch;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

MemberConfig config;
try
{
    config = MemberConfig.Parse(args);
}
catch (ConfigException e)
{
    Console.Error.WriteLine($"cairn: configuration error: {e.Message}");
    return 2;
}

try
{
    Directory.CreateDirectory(config.DataDir);
}
catch (Exception e) when (e is IOException or UnauthorizedAccessException)
{
    Console.Error.WriteLine($"cairn: cannot create data dir \"{config.DataDir}\": {e.Message}");
    return 2;
}

var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
builder.Logging.ClearProviders();
builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss.fff "; });
builder.Logging.SetMinimumLevel(config.LogLevel switch
{
    "debug" => LogLevel.Debug,
    "warn" => LogLevel.Warning,
    "error" => LogLevel.Error,
    _ => LogLevel.Information,
});
builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
builder.Logging.AddFilter("Microsoft.Hosting", LogLevel.Warning);
builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(5));
var tls = config.CertFile is not null && config.KeyFile is not null
    ? new GrpcTlsOptions { CertFile = config.CertFile, KeyFile = config.KeyFile }
    : null;
builder.WebHost.ConfigureKestrel(k => GrpcKestrel.Configure(k, config.ListenClientUrls, tls));

var memberId = MemberIdentity.MemberId(config.InitialAdvertisePeerUrls, config.InitialClusterToken);
var clusterId = MemberIdentity.ClusterId(config.InitialCluster.Values.Select(p => MemberIdentity.MemberId(p, config.InitialClusterToken)));
// etcd's minimum lease TTL: 1.5 election timeouts, rounded up to whole seconds.
var lessor = new Lessor((long)Math.Ceiling(1.5 * config.ElectionTimeoutMs / 1000.0));
var store = new KvStore(new MvccOptions { MaxTxnOps = config.MaxTxnOps, LeaseExists = lessor.Exists });
lessor.Attach(store);
using var watchable = new WatchableStore(store);
var member = new Member(config, store, lessor, new LocalConsensus(memberId), memberId, clusterId);
builder.Services.AddSingleton(member);
builder.Services.AddHostedService<LeaseExpiryService>();

var app = builder.Build();
var registry = new GrpcServiceRegistry();
KvService.Map(registry, member);
WatchService.Map(registry, member, watchable);
LeaseService.Map(registry, member);
MaintenanceService.Map(registry, member);
ClusterService.Map(registry, member);
app.UseGrpc(registry, new GrpcServerOptions { MaxReceiveMessageSize = config.MaxRequestBytes + 512 * 1024 });

member.Start();
var log = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Cairn.Node");
NodeLog.Serving(log, config.Name, memberId, clusterId, string.Join(",", config.ListenClientUrls), config.DataDir);
await app.RunAsync().ConfigureAwait(false);
NodeLog.Stopping(log);
await member.DisposeAsync().ConfigureAwait(false);
return 0;
