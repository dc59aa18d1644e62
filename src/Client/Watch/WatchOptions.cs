namespace Cairn.Client;

/// <summary>The options of a watch (etcd WatchCreateRequest) and how the client keeps it alive.</summary>
public sealed record WatchOptions
{
    /// <summary>
    /// The first revision to deliver (inclusive). 0 means "from now": the current revision + 1 on
    /// the member that creates the watch; after a failover the watch resumes from the created
    /// response's header revision + 1, so nothing committed after creation is lost.
    /// </summary>
    public long StartRevision { get; init; }

    /// <summary>Fill <c>prev_kv</c> (the key's previous version) in every event.</summary>
    public bool PrevKv { get; init; }

    /// <summary>
    /// Ask the server for periodic progress notifications while idle; they are delivered as
    /// batches with <see cref="WatchBatch.IsProgressNotify"/> and move the resume point forward.
    /// The stream is declared dead when silent for
    /// <see cref="EtcdClientOptions.ProgressNotifySilenceFactor"/> × <see cref="EtcdClientOptions.ProgressNotifyInterval"/>.
    /// </summary>
    public bool ProgressNotify { get; init; }

    /// <summary>Do not deliver PUT events.</summary>
    public bool NoPut { get; init; }

    /// <summary>Do not deliver DELETE events.</summary>
    public bool NoDelete { get; init; }

    /// <summary>Let the server split huge responses into fragments; the client reassembles them before delivery.</summary>
    public bool Fragment { get; init; }

    /// <summary>
    /// Send <c>hasleader: true</c> on the watch stream: a member that loses its leader cancels the
    /// stream ("etcdserver: no leader") and the watch resumes on another member instead of waiting
    /// on a partitioned one. Such watches share a stream separate from the others.
    /// </summary>
    public bool RequireLeader { get; init; }

    /// <summary>Deliver one empty batch with <see cref="WatchBatch.IsCreated"/> when the watch is first established.</summary>
    public bool CreatedNotify { get; init; }
}
