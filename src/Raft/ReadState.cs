namespace Cairn.Raft;

/// <summary>
/// A linearizable read that may now be served: once the application has applied the log up to
/// <paramref name="Index"/>, reading its state machine reflects every write committed before the read was
/// requested.
/// </summary>
/// <param name="Index">The leader's commit index when the read was confirmed.</param>
/// <param name="Context">The request context passed to <see cref="RaftNode.ReadIndex"/>.</param>
public readonly record struct ReadState(ulong Index, ReadOnlyMemory<byte> Context);
