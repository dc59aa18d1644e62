using Microsoft.Extensions.Logging;

namespace Cairn.Grpc;

/// <summary>Log messages of the :authority rewriting connection middleware.</summary>
internal static partial class Http2AuthorityLog
{
    /// <summary>A connection's requests carry an :authority with a scheme: its header blocks are rewritten.</summary>
    [LoggerMessage(EventId = 1, Level = LogLevel.Debug, Message = "Connection {ConnectionId} sends :authority with a scheme (etcdctl --cluster); rewriting its header blocks")]
    public static partial void Rewriting(ILogger logger, string connectionId);

    /// <summary>A rewritten connection sent input the rewriter cannot follow; it was cut with a connection error.</summary>
    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "Connection {ConnectionId} closed: bad HTTP/2 input ({Reason})")]
    public static partial void BadInput(ILogger logger, string connectionId, string reason);
}
