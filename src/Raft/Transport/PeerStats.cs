namespace Cairn.Raft.Transport;

/// <summary>Counters of one peer, read at a point in time (each field is consistent on its own, not with the others).</summary>
/// <param name="PeerId">The peer's member id.</param>
/// <param name="MessagesSent">Messages written to the peer's connection.</param>
/// <param name="BytesSent">Payload bytes written (framing excluded).</param>
/// <param name="MessagesDropped">Messages dropped: queue full or peer unreachable at <see cref="PeerTransport.Send"/>, or queued or in flight when the connection failed.</param>
/// <param name="Queued">Messages waiting in the peer's queue now.</param>
/// <param name="Connected">Whether the outbound message connection is established now.</param>
/// <param name="ConnectFailures">Failed connection attempts plus broken connections.</param>
/// <param name="MessagesReceived">Messages received from this peer and handed to the handler.</param>
/// <param name="Connections">Outbound message connections established (1 for a link that never broke).</param>
public readonly record struct PeerStats(
    ulong PeerId,
    long MessagesSent,
    long BytesSent,
    long MessagesDropped,
    int Queued,
    bool Connected,
    long ConnectFailures,
    long MessagesReceived,
    long Connections);
