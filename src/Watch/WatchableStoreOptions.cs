namespace Cairn.Watch;

/// <summary>Tuning of a <see cref="WatchableStore"/> (defaults follow etcd's watchable store).</summary>
public sealed class WatchableStoreOptions
{
    /// <summary>Most events read from history per catch-up round (a revision is never split, so a round may exceed it by one revision).</summary>
    public int SyncBatchEvents { get; init; } = 1000;

    /// <summary>Most unsynced watchers served per catch-up round (etcd: 512).</summary>
    public int MaxWatchersPerSync { get; init; } = 512;

    /// <summary>How often unsynced watchers are caught up when nothing signals the loop (etcd: 100 ms).</summary>
    public TimeSpan SyncInterval { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>How often victims (watchers whose stream buffer was full) are retried (etcd: 10 ms).</summary>
    public TimeSpan VictimRetryInterval { get; init; } = TimeSpan.FromMilliseconds(10);
}
