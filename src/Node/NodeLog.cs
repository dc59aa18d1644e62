using Microsoft.Extensions.Logging;

namespace Cairn.Node;

/// <summary>The member process's log messages, with stable event ids.</summary>
internal static partial class NodeLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "cairn member {Name} ({MemberId:x16}) of cluster {ClusterId:x16} serving clients on {Urls}, data dir {DataDir}")]
    public static partial void Serving(ILogger logger, string name, ulong memberId, ulong clusterId, string urls, string dataDir);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "cairn member stopping")]
    public static partial void Stopping(ILogger logger);

    [LoggerMessage(EventId = 3, Level = LogLevel.Warning, Message = "revoking expired lease {LeaseId:x16} failed: {Error}")]
    public static partial void LeaseRevokeFailed(ILogger logger, long leaseId, string error);
}
