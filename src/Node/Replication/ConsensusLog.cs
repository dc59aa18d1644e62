using Microsoft.Extensions.Logging;

namespace Cairn.Node.Replication;

/// <summary>Log messages of the consensus driver, with stable event ids.</summary>
internal static partial class ConsensusLog
{
    [LoggerMessage(EventId = 100, Level = LogLevel.Warning, Message = "dropping undecodable message from peer {Peer:x16}: {Error}")]
    public static partial void BadPeerMessage(ILogger logger, ulong peer, string error);

    [LoggerMessage(EventId = 101, Level = LogLevel.Information, Message = "received snapshot at index {Index} from {Peer:x16} ({Bytes} bytes)")]
    public static partial void SnapshotReceived(ILogger logger, ulong peer, ulong index, long bytes);

    [LoggerMessage(EventId = 102, Level = LogLevel.Information, Message = "leader is now {Leader:x16} at term {Term} (this member {Role})")]
    public static partial void LeaderChanged(ILogger logger, ulong leader, ulong term, string role);

    [LoggerMessage(EventId = 103, Level = LogLevel.Information, Message = "restored from snapshot at index {Index}, {Entries} WAL entries after it, hard state term {Term} commit {Commit}")]
    public static partial void Restored(ILogger logger, ulong index, int entries, ulong term, ulong commit);

    [LoggerMessage(EventId = 104, Level = LogLevel.Warning, Message = "WAL tail truncated in {File} at {Offset}: {Reason}")]
    public static partial void WalTailTruncated(ILogger logger, string file, long offset, string reason);

    [LoggerMessage(EventId = 105, Level = LogLevel.Information, Message = "took snapshot at index {Index} ({Bytes} bytes); log compacted to {Compacted}")]
    public static partial void SnapshotTaken(ILogger logger, ulong index, long bytes, ulong compacted);

    [LoggerMessage(EventId = 106, Level = LogLevel.Warning, Message = "sending snapshot to {Peer:x16} failed: {Error}")]
    public static partial void SnapshotSendFailed(ILogger logger, ulong peer, string error);

    [LoggerMessage(EventId = 107, Level = LogLevel.Information, Message = "sent snapshot at index {Index} to {Peer:x16}")]
    public static partial void SnapshotSent(ILogger logger, ulong peer, ulong index);

    [LoggerMessage(EventId = 108, Level = LogLevel.Warning, Message = "this member was removed from the cluster")]
    public static partial void RemovedFromCluster(ILogger logger);

    [LoggerMessage(EventId = 109, Level = LogLevel.Warning, Message = "rejected snapshot file {File}: {Error}")]
    public static partial void SnapshotRejected(ILogger logger, string file, string error);

    [LoggerMessage(EventId = 110, Level = LogLevel.Critical, Message = "consensus loop failed; the member stops")]
    public static partial void LoopFailed(ILogger logger, Exception error);
}
