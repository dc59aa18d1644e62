namespace Cairn.Raft.Storage;

/// <summary>How a new WAL segment reserves its disk space.</summary>
public enum WalPreallocation
{
    /// <summary>No reservation: the file grows with every write, so each sync also flushes the new size.</summary>
    None,
    /// <summary>
    /// <c>fallocate</c> the whole segment (falls back to <see cref="None"/> where unsupported). Cheap to
    /// create, but on ext4/xfs the blocks start "unwritten", so the first write to each one still
    /// makes the sync commit a metadata change.
    /// </summary>
    Allocate,
    /// <summary>
    /// Write zeros over the whole segment when it is created. Creating a segment costs one sequential
    /// write of <see cref="WalOptions.SegmentSize"/> bytes, but afterwards a sync only flushes data
    /// blocks: no size change, no extent conversion, nothing for the file-system journal.
    /// </summary>
    ZeroFill,
}

/// <summary>Which system call <see cref="WriteAheadLog.Sync"/> uses.</summary>
public enum WalSyncMode
{
    /// <summary><c>fdatasync</c> on Linux (data, plus size when it changed); full flush elsewhere.</summary>
    DataSync,
    /// <summary><see cref="RandomAccess.FlushToDisk"/> (<c>fsync</c>: data and all metadata).</summary>
    FullSync,
}

/// <summary>Tuning of a <see cref="WriteAheadLog"/>. The defaults suit a production member.</summary>
public sealed record WalOptions
{
    /// <summary>The defaults.</summary>
    public static WalOptions Default { get; } = new();

    /// <summary>
    /// A segment is closed and a new one started once an append would take it past this many bytes
    /// (a single batch larger than this still goes whole into one segment). Default 64 MiB.
    /// </summary>
    public long SegmentSize { get; init; } = 64L * 1024 * 1024;

    /// <summary>How new segments reserve space. Default <see cref="WalPreallocation.ZeroFill"/>.</summary>
    public WalPreallocation Preallocation { get; init; } = WalPreallocation.ZeroFill;

    /// <summary>The sync system call. Default <see cref="WalSyncMode.DataSync"/>.</summary>
    public WalSyncMode SyncMode { get; init; } = WalSyncMode.DataSync;
}
