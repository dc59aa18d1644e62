using Cairn.Raft;
using Cairn.Raft.Diagnostics;

namespace Cairn.Node.Replication;

public sealed partial class RaftConsensus
{
    // Stages of the write path that belong to Raft messages (see LatencyTrace). Callers test
    // LatencyTrace.Enabled first, so with tracing off none of this runs.
    private static void TraceMessage(Message message, TraceStage append, TraceStage ack, ulong peer)
    {
        if (message.Type == MessageType.Append && message.Entries.Length > 0)
            LatencyTrace.Mark(append, message.Entries[^1].Index, peer);
        else if (message.Type == MessageType.AppendResponse && !message.Reject)
            LatencyTrace.Mark(ack, message.Index, peer);
    }

    private static void TraceMessages(IReadOnlyList<Message> messages)
    {
        foreach (var message in messages)
            TraceMessage(message, TraceStage.AppendQueued, TraceStage.AckQueued, message.To);
    }
}
