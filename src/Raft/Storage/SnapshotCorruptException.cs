namespace Cairn.Raft.Storage;

/// <summary>A snapshot file failed verification (size, magic or checksum).</summary>
public sealed class SnapshotCorruptException : IOException
{
    /// <summary>Creates the exception for <paramref name="filePath"/>.</summary>
    public SnapshotCorruptException(string filePath, string reason)
        : base($"snapshot corrupt: {filePath}: {reason}")
    {
        FilePath = filePath;
        Reason = reason;
    }

    /// <summary>The rejected file.</summary>
    public string FilePath { get; }

    /// <summary>What is wrong with it.</summary>
    public string Reason { get; }
}
