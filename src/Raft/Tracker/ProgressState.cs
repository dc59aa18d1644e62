namespace Cairn.Raft;

/// <summary>How the leader currently replicates to one follower.</summary>
public enum ProgressState : byte
{
    /// <summary>Match unknown: send one append at a time (per heartbeat) and back off on rejection.</summary>
    Probe = 0,
    /// <summary>Follower is in step: stream appends optimistically, bounded by the inflight window.</summary>
    Replicate = 1,
    /// <summary>A snapshot is on its way; send nothing until it is reported applied or failed.</summary>
    Snapshot = 2,
}
