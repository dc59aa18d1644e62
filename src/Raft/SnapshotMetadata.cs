namespace Cairn.Raft;

/// <summary>Where a snapshot sits in the log and which configuration was in force there.</summary>
/// <param name="Index">Last log index the snapshot covers.</param>
/// <param name="Term">Term of the entry at <paramref name="Index"/>.</param>
/// <param name="ConfState">Membership as of <paramref name="Index"/>.</param>
public sealed record SnapshotMetadata(ulong Index, ulong Term, ConfState ConfState);
