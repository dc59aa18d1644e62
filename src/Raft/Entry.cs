namespace Cairn.Raft;

/// <summary>What a log entry carries: an application command, or a membership change.</summary>
public enum EntryType : byte
{
    /// <summary>An opaque application command (an empty one is the leader's no-op of a new term).</summary>
    Normal = 0,
    /// <summary>A membership change; <see cref="Entry.Data"/> holds an encoded <c>ConfChange</c>.</summary>
    ConfChange = 1,
}

/// <summary>
/// One entry of the replicated log. Index and term identify it: two logs that hold an entry with
/// the same index and term are identical up to that index (the Log Matching property).
/// </summary>
/// <param name="Index">Position in the log, starting at 1.</param>
/// <param name="Term">Term of the leader that created the entry.</param>
/// <param name="Type">Command or membership change.</param>
/// <param name="Data">Opaque bytes; Raft never looks inside a <see cref="EntryType.Normal"/> entry.</param>
public readonly record struct Entry(ulong Index, ulong Term, EntryType Type, ReadOnlyMemory<byte> Data)
{
    /// <summary>Bytes this entry counts for in size-based limits (payload plus a fixed overhead).</summary>
    public int Size => Data.Length + 24;
}

/// <summary>
/// The state a member must persist before it answers any message that depends on it:
/// the current term, whom it voted for in that term, and the highest index it knows committed.
/// </summary>
/// <param name="Term">Latest term this member has seen.</param>
/// <param name="Vote">Member voted for in <paramref name="Term"/>, or 0 for none.</param>
/// <param name="Commit">Highest log index known to be committed.</param>
public readonly record struct HardState(ulong Term, ulong Vote, ulong Commit)
{
    /// <summary>The state of a member that has never run.</summary>
    public static HardState Empty => default;

    /// <summary>True for the state of a member that has never run.</summary>
    public bool IsEmpty => Term == 0 && Vote == 0 && Commit == 0;
}
