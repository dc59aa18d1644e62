namespace Cairn.Raft;

/// <summary>Outcome of a read from <see cref="IRaftStorage"/>.</summary>
public enum StorageStatus
{
    /// <summary>The value was returned.</summary>
    Ok = 0,
    /// <summary>The index is at or before the storage's snapshot; the entry is gone (send a snapshot instead).</summary>
    Compacted = 1,
    /// <summary>The index is past the last stored entry.</summary>
    Unavailable = 2,
}
