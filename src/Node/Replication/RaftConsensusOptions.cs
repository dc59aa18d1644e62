namespace Cairn.Node.Replication;

/// <summary>How a member runs Raft: identity, storage, peers and timings (etcd's flags mapped).</summary>
public sealed class RaftConsensusOptions
{
    /// <summary>This member's id.</summary>
    public required ulong MemberId { get; init; }

    /// <summary>The cluster's id (peer connections carrying another are refused).</summary>
    public required ulong ClusterId { get; init; }

    /// <summary>The data dir; Raft keeps <c>member/wal</c> and <c>member/snap</c> in it, as etcd does.</summary>
    public required string DataDir { get; init; }

    /// <summary>Where the peer transport listens.</summary>
    public required Uri ListenPeerUrl { get; init; }

    /// <summary>The founding voters (ids) when bootstrapping a new cluster; ignored once the data dir has state.</summary>
    public required IReadOnlyList<ulong> InitialVoters { get; init; }

    /// <summary>
    /// Peers to reach before the member list is known (from --initial-cluster): lets a joining
    /// member answer the leader before the leader's snapshot tells it the whole membership.
    /// </summary>
    public IReadOnlyDictionary<ulong, IReadOnlyList<Uri>> InitialPeers { get; init; } = new Dictionary<ulong, IReadOnlyList<Uri>>();

    /// <summary>What the peer transport answers a member that asks for the cluster id (a joiner); null refuses.</summary>
    public Func<ReadOnlyMemory<byte>>? ClusterInfo { get; init; }

    /// <summary>Join an existing cluster (<c>--initial-cluster-state existing</c>): start empty and wait for the leader.</summary>
    public bool JoinExisting { get; init; }

    /// <summary>Heartbeat interval; one Raft tick.</summary>
    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Election timeout; a whole number of heartbeats.</summary>
    public TimeSpan ElectionTimeout { get; init; } = TimeSpan.FromMilliseconds(1000);

    /// <summary>Applied entries between snapshots.</summary>
    public long SnapshotCount { get; init; } = 10_000;

    /// <summary>Entries kept after a snapshot for slow followers.</summary>
    public ulong SnapshotCatchUpEntries { get; init; } = 5_000;

    /// <summary>Proposals waiting for a leader before failing with "no leader".</summary>
    public int MaxStalledProposals { get; init; } = 10_000;
}
