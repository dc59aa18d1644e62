namespace Cairn.Raft.Diagnostics;

/// <summary>
/// A point on the path of one replicated write, recorded by <see cref="LatencyTrace"/>. The key of
/// each stage is named on it; stages keyed by nothing (0) are matched by time when traces are merged.
/// </summary>
public enum TraceStage : byte
{
    /// <summary>The member's proposal path was entered (key: proposal id).</summary>
    RequestStart = 1,

    /// <summary>The proposal entered the consensus inbox (key: the log index it got).</summary>
    ProposeEnqueued,

    /// <summary>The consensus loop appended the proposal to the log (key: log index).</summary>
    LoopPickup,

    /// <summary>An append (MsgApp with entries) was handed to the transport (key: its last index; aux: peer).</summary>
    AppendQueued,

    /// <summary>A frame batch was written to a peer's socket (key: 0; aux: peer).</summary>
    FrameWritten,

    /// <summary>A Ready's entries and hard state are durable (key: last entry index of the Ready).</summary>
    Synced,

    /// <summary>A follower decoded an append from the socket (key: its last index; aux: sender).</summary>
    AppendReceived,

    /// <summary>A follower's loop stepped the append (key: its last index).</summary>
    AppendStepped,

    /// <summary>An append acknowledgement was handed to the transport (key: acknowledged index; aux: peer).</summary>
    AckQueued,

    /// <summary>The leader decoded an acknowledgement from the socket (key: acknowledged index; aux: sender).</summary>
    AckReceived,

    /// <summary>The leader's loop stepped the acknowledgement (key: acknowledged index; aux: sender).</summary>
    AckStepped,

    /// <summary>A committed entry is about to be applied (key: log index).</summary>
    Committed,

    /// <summary>An entry was applied to the state machine (key: log index).</summary>
    Applied,

    /// <summary>The applied proposal was matched to its waiter (key: proposal id; aux: log index).</summary>
    WaiterCompleted,

    /// <summary>The proposer resumed after the loop accepted its proposal (key: proposal id).</summary>
    AcceptedResumed,

    /// <summary>The proposer resumed with the apply's response (key: proposal id).</summary>
    WaiterResumed,
}
