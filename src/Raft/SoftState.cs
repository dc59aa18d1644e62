namespace Cairn.Raft;

/// <summary>Volatile state worth reporting (not persisted): the known leader and this member's role.</summary>
/// <param name="Leader">Current leader id, or 0 if unknown.</param>
/// <param name="Role">This member's role.</param>
public readonly record struct SoftState(ulong Leader, RaftRole Role);
