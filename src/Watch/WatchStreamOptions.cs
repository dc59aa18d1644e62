using Etcdserverpb;

namespace Cairn.Watch;

/// <summary>Settings of one <see cref="WatchStream"/>.</summary>
public sealed class WatchStreamOptions
{
    /// <summary>
    /// Supplies cluster_id, member_id and raft_term for every response; the stream copies them into a new
    /// header and sets the revision itself. Null: those fields are 0.
    /// </summary>
    public Func<ResponseHeader>? HeaderFactory { get; init; }

    /// <summary>
    /// Idle time after which a watch created with progress_notify gets an empty progress response
    /// (etcd: 10 minutes, plus up to 10 % random jitter).
    /// </summary>
    public TimeSpan ProgressNotifyInterval { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// The member's max request bytes (etcd's --max-request-bytes, 1.5 MiB by default). A response of a
    /// watch created with fragment=true that reaches this plus <see cref="GrpcOverheadBytes"/> is split,
    /// as etcd does (checked against etcd 3.4.23: its threshold is 2 MiB with the defaults).
    /// </summary>
    public int MaxRequestBytes { get; init; } = 1536 * 1024;

    /// <summary>Added to <see cref="MaxRequestBytes"/> for the fragmentation threshold (etcd's grpcOverheadBytes, 512 KiB).</summary>
    public int GrpcOverheadBytes { get; init; } = 512 * 1024;

    /// <summary>
    /// Awaited before the start revision of a watch created with start_revision 0 is chosen and before a
    /// WatchProgressRequest is answered, so both reflect every write committed before the request (the
    /// member plugs a linearizable ReadIndex wait here). Null: no wait.
    /// </summary>
    public Func<CancellationToken, ValueTask>? Barrier { get; init; }

    /// <summary>
    /// Asked before each watch is created: null lets it be created, a text refuses it with a
    /// canceled response carrying that reason (the member checks read permission on the key range
    /// here, as etcd's isWatchPermitted does). Null: every watch is allowed.
    /// </summary>
    public Func<WatchCreateRequest, CancellationToken, ValueTask<string?>>? Authorize { get; init; }

    /// <summary>Responses (event batches) that may wait for the client before watchers become victims (etcd: 128).</summary>
    public int SendBufferSize { get; init; } = 128;

    /// <summary>Control responses (created, canceled, progress) that may wait before requests stop being read (etcd: 16).</summary>
    public int ControlBufferSize { get; init; } = 16;
}
