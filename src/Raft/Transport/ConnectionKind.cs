namespace Cairn.Raft.Transport;

/// <summary>Which of the two connection types a preamble opens.</summary>
internal enum ConnectionKind : byte
{
    /// <summary>Long-lived stream of length-prefixed Raft messages, sender to receiver only.</summary>
    Messages = 1,

    /// <summary>One snapshot transfer: header frame, CRC'd chunks, then a result from the receiver.</summary>
    Snapshot = 2,

    /// <summary>
    /// One question from a member that does not know the cluster id yet (it is joining): the
    /// receiver answers with one frame (its <see cref="PeerTransport.ClusterInfoProvider"/>) and closes.
    /// </summary>
    ClusterInfo = 3,
}
