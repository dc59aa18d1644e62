using System.Net.Security;

namespace Cairn.Client;

/// <summary>
/// Settings of an <see cref="EtcdClient"/>. The defaults suit a LAN cluster; tests shorten the
/// watch liveness bounds so failover is quick.
/// </summary>
public sealed class EtcdClientOptions
{
    private int _watchOutboxCapacity = 1024;

    /// <summary>
    /// The members' client URLs: <c>http://host:port</c> (cleartext HTTP/2), <c>https://host:port</c>
    /// (TLS) or bare <c>host:port</c>. The client pins the first healthy one and rotates on failure.
    /// </summary>
    public IList<string> Endpoints { get; set; } = new List<string>();

    /// <summary>Deadline of a unary call when the caller gives none (etcdctl's --command-timeout is 5 s).</summary>
    public TimeSpan CallTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Bound of one attempt of a read (Range, read-only Txn, Status, member list) on one endpoint.
    /// A member that is frozen (SIGSTOP, a long GC or I/O stall) accepts the request and never
    /// answers; after this long the attempt is abandoned, the endpoint quarantined and the read
    /// retried on the next endpoint, all inside the call's deadline (the last attempt gets whatever
    /// remains of it). Writes are never cut short this way: an abandoned write may still commit.
    /// <see cref="Timeout.InfiniteTimeSpan"/> gives every attempt the whole deadline.
    /// </summary>
    public TimeSpan ReadAttemptTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Time allowed to open a TCP (and TLS) connection to one endpoint.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How long an endpoint that failed is skipped when picking one (unless every endpoint failed,
    /// then the one that failed longest ago is tried).
    /// </summary>
    public TimeSpan EndpointQuarantine { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>
    /// HTTP/2 keepalive PING interval on idle connections. etcd's server rejects pings closer than
    /// its <c>--grpc-keepalive-min-time</c> (5 s) with GOAWAY, so keep this at 5 s or more.
    /// <see cref="Timeout.InfiniteTimeSpan"/> disables the pings.
    /// </summary>
    public TimeSpan KeepAlivePingDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a keepalive PING may go unanswered before the connection is dropped.</summary>
    public TimeSpan KeepAlivePingTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// When a watch stream has received nothing for this long, the client probes it: a
    /// WatchProgressRequest on the stream plus a cheap serializable Range on the same connection.
    /// <see cref="Timeout.InfiniteTimeSpan"/> disables probing (a frozen member is then only noticed
    /// through keepalive pings or the progress-notify bound).
    /// </summary>
    public TimeSpan WatchProbeInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// A probe that gets no answer (neither on the stream nor to the Range) within this time marks
    /// the stream dead: every watch on it resumes on another endpoint.
    /// </summary>
    public TimeSpan WatchProbeTimeout { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>
    /// The server's progress-notify interval (etcd's default is 10 minutes,
    /// <c>--experimental-watch-progress-notify-interval</c>). A stream carrying a watch that asked
    /// for progress notifications is declared dead when silent for
    /// <see cref="ProgressNotifySilenceFactor"/> times this.
    /// </summary>
    public TimeSpan ProgressNotifyInterval { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Multiplier of <see cref="ProgressNotifyInterval"/> giving the silence bound (default 3).</summary>
    public double ProgressNotifySilenceFactor { get; set; } = 3;

    /// <summary>
    /// How many undelivered batches one watch may hold for a consumer that reads slower than events
    /// arrive. When its queue is full the watch alone is cancelled on the server (the shared stream
    /// and the other watches on it keep flowing) and re-created from its last delivered revision + 1
    /// once the consumer has read half of the queue, as etcd does with its own slow watchers; so a
    /// stalled consumer costs bounded memory and loses nothing.
    /// </summary>
    public int WatchQueueCapacity { get; set; } = 1024;

    /// <summary>
    /// How many requests (creates, cancels, progress probes) a watch stream holds for its writer.
    /// At most a quarter of it are creates in flight; more watches wait their turn (as state, not
    /// as queued requests). A request that finds the outbox full means the member is not reading the
    /// stream (or far more watches were cancelled at once than it can take): the stream is given up
    /// and its watches resume on another endpoint. At least 4.
    /// </summary>
    public int WatchOutboxCapacity
    {
        get => _watchOutboxCapacity;
        set => _watchOutboxCapacity = value >= 4 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "At least 4.");
    }

    /// <summary>Longest pause between attempts to re-open a broken watch stream when every endpoint fails.</summary>
    public TimeSpan WatchMaxBackoff { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>TLS settings for https endpoints (client certificate, server validation), or null for the defaults.</summary>
    public SslClientAuthenticationOptions? SslOptions { get; set; }

    /// <summary>
    /// Receives one line per notable client event (endpoint failure, watch stream opened or broken).
    /// Called from background tasks; must be quick and thread-safe.
    /// </summary>
    public Action<string>? Log { get; set; }
}
