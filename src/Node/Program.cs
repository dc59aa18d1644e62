using Cairn.Grpc;
using Cairn.Mvcc;
using Cairn.Node;
using Cairn.Node.Replication;
using Cairn.Node.Services;
using Cairn.Watch;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

if (args is ["healthcheck", ..])
    return await HealthCheck.RunAsync(args).ConfigureAwait(false);
if (args is ["snapshot", ..])
    return SnapshotRestore.Run(args);

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

// No reload-on-change for appsettings*.json: it makes the host watch the content root (the working
// directory) recursively with inotify, and a thread then handles an event for every file written below
// it — the WAL itself with the default ./default.etcd data dir, or other processes' files (measured: a
// fifth of the members' CPU under put-64 when started from a busy directory). Nothing here reloads.
var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = ["--hostBuilder:reloadConfigOnChange=false"] });
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

var memberIds = config.InitialCluster.ToDictionary(kv => kv.Key, kv => MemberIdentity.MemberId(kv.Value, config.InitialClusterToken));
var memberId = memberIds[config.Name];
ClusterIdentity identity;
try
{
    identity = await ClusterIdentity.ResolveAsync(config, memberIds, CancellationToken.None).ConfigureAwait(false);
}
catch (Exception e) when (e is ConfigException or IOException or UnauthorizedAccessException)
{
    Console.Error.WriteLine($"cairn: cannot determine the cluster id: {e.Message}");
    return 1;
}

var clusterId = identity.ClusterId;
// etcd's minimum lease TTL: 1.5 election timeouts, rounded up to whole seconds.
var lessor = new Lessor((long)Math.Ceiling(1.5 * config.ElectionTimeoutMs / 1000.0));
var store = new KvStore(new MvccOptions { MaxTxnOps = config.MaxTxnOps, LeaseExists = lessor.Exists });
lessor.Attach(store);
using var watchable = new WatchableStore(store);
var members = new ClusterMembers();
var joining = config.InitialClusterState == "existing";
if (!joining)
{
    // The founders' list, identical on every founder; a joiner learns it from the leader's snapshot.
    members.Initialize(config.InitialCluster.Select(kv =>
    {
        var m = new Etcdserverpb.Member { ID = memberIds[kv.Key], Name = kv.Key };
        m.PeerURLs.AddRange(kv.Value.Select(u => u.ToString().TrimEnd('/')));
        return m;
    }));
}

var loggerFactory = LoggerFactory.Create(b => b.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss.fff "; }));
var consensus = new RaftConsensus(new RaftConsensusOptions
{
    MemberId = memberId,
    ClusterId = clusterId,
    DataDir = config.DataDir,
    ListenPeerUrl = config.ListenPeerUrls[0],
    InitialVoters = [.. memberIds.Values],
    InitialPeers = identity.Peers,
    ClusterInfo = () => ClusterIdentity.Describe(members, clusterId),
    JoinExisting = joining,
    HeartbeatInterval = TimeSpan.FromMilliseconds(config.HeartbeatIntervalMs),
    ElectionTimeout = TimeSpan.FromMilliseconds(config.ElectionTimeoutMs),
    SnapshotCount = config.SnapshotCount,
}, loggerFactory.CreateLogger("Cairn.Raft"));
var member = new Member(config, store, lessor, members, consensus, memberId, clusterId);
member.StateMachine.MembershipChanged += () => consensus.SyncPeers(members.PeerUrls);
builder.Services.AddSingleton(member);
builder.Services.AddHostedService<MemberBackgroundService>();
builder.Services.AddHostedService<LeaseExpiryService>();

var app = builder.Build();
var registry = new GrpcServiceRegistry();
KvService.Map(registry, member);
WatchService.Map(registry, member, watchable);
LeaseService.Map(registry, member);
MaintenanceService.Map(registry, member);
ClusterService.Map(registry, member);
AuthService.Map(registry, member);
// Client requests wait until this member is published (etcd's ReadyNotify), then learners refuse
// what etcd's learners refuse.
app.Use(PublishedGate.Middleware(member, app.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping));
app.Use(LearnerGuard.Middleware(member, registry));
app.UseGrpc(registry, new GrpcServerOptions { MaxReceiveMessageSize = config.MaxRequestBytes + 512 * 1024 });

try
{
    member.Start();
}
catch (Exception e) when (e is IOException or InvalidDataException or Cairn.Raft.Storage.WalCorruptException)
{
    Console.Error.WriteLine($"cairn: cannot open the data dir \"{config.DataDir}\": {e.Message}");
    return 1;
}

var lifetime = app.Services.GetRequiredService<IHostApplicationLifetime>();
consensus.Removed += () => lifetime.StopApplication();
// A dead consensus loop (e.g. a WAL write error) must not leave a member answering from stale state.
consensus.Failed += _ =>
{
    Environment.ExitCode = 1;
    lifetime.StopApplication();
};
var log = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Cairn.Node");
NodeLog.Serving(log, config.Name, memberId, clusterId, string.Join(",", config.ListenClientUrls), config.DataDir);
await app.RunAsync().ConfigureAwait(false);
NodeLog.Stopping(log);
await member.DisposeAsync().ConfigureAwait(false);
return Environment.ExitCode;
