namespace Cairn.Raft;

/// <summary>
/// A single-member configuration change, proposed with <see cref="RaftNode.ProposeConfChange"/> and carried
/// in an <see cref="EntryType.ConfChange"/> entry (encoded with <see cref="ConfChangeCodec"/>). It takes
/// effect on each member when the application applies the entry and calls <see cref="RaftNode.ApplyConfChange"/>.
/// </summary>
/// <param name="Type">Add voter, add learner or remove.</param>
/// <param name="MemberId">The member concerned (never 0).</param>
/// <param name="Context">Opaque application data (for example the new member's address).</param>
public readonly record struct ConfChange(ConfChangeType Type, ulong MemberId, ReadOnlyMemory<byte> Context);
