namespace Cairn.Raft;

/// <summary>
/// A point-in-time image of the application state machine at <see cref="SnapshotMetadata.Index"/>,
/// plus the metadata Raft needs to continue the log after it. <see cref="Data"/> is opaque to Raft.
/// </summary>
/// <param name="Metadata">Index, term and configuration the snapshot covers.</param>
/// <param name="Data">The application's serialized state (any size; the transport chunks it).</param>
public sealed record Snapshot(SnapshotMetadata Metadata, ReadOnlyMemory<byte> Data)
{
    /// <summary>The snapshot of a storage that has none (index 0).</summary>
    public static Snapshot Empty { get; } = new(new SnapshotMetadata(0, 0, ConfState.Empty), ReadOnlyMemory<byte>.Empty);

    /// <summary>True for <see cref="Empty"/> (index 0).</summary>
    public bool IsEmpty => Metadata.Index == 0;

    /// <summary>
    /// The snapshot every founding member of a new cluster installs before its first start: index 1,
    /// term 1, the initial membership, no data. Members that join later start with empty storage and
    /// learn the configuration from the leader (by snapshot, since the log never holds index 1).
    /// </summary>
    /// <param name="initial">The founding configuration.</param>
    public static Snapshot Bootstrap(ConfState initial) => new(new SnapshotMetadata(1, 1, initial), ReadOnlyMemory<byte>.Empty);
}
