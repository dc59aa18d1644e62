namespace Cairn.Raft.Transport;

/// <summary>Which kind of connection a preamble opens.</summary>
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

    /// <summary>
    /// One request from a member of the cluster: one opaque request frame, one opaque answer frame
    /// (the receiver's <see cref="PeerTransport.RequestHandler"/>), then the receiver closes.
    /// Admitted like <see cref="Messages"/>: same cluster id, addressed to the receiver.
    /// </summary>
    Request = 4,
}
