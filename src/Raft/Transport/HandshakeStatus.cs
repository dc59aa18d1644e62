namespace Cairn.Raft.Transport;

/// <summary>The receiver's one-byte answer to a preamble.</summary>
internal enum HandshakeStatus : byte
{
    Accepted = 0,
    ClusterMismatch = 1,
    WrongMember = 2,
    UnsupportedVersion = 3,
    MemberRemoved = 4,
    SnapshotsNotAccepted = 5,
    Busy = 6,
    NoClusterInfo = 7,
    NoRequestHandler = 8,
}
