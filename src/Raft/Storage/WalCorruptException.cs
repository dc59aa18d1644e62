namespace Cairn.Raft.Storage;

/// <summary>
/// The WAL holds damage that is not a torn tail: a bad record followed by good ones, a bad record in
/// a segment that is not the last, a missing segment, or records that contradict each other. The
/// member must stop: skipping the damage could silently forget an acknowledged entry or vote.
/// </summary>
public sealed class WalCorruptException : IOException
{
    /// <summary>Creates the exception for damage at <paramref name="offset"/> in <paramref name="filePath"/>.</summary>
    public WalCorruptException(string filePath, long offset, string reason)
        : base($"WAL corrupt: {filePath} at offset {offset}: {reason}")
    {
        FilePath = filePath;
        Offset = offset;
        Reason = reason;
    }

    /// <summary>The segment file (or directory, for a missing segment) where the damage was found.</summary>
    public string FilePath { get; }

    /// <summary>Byte offset in <see cref="FilePath"/> of the first bad record.</summary>
    public long Offset { get; }

    /// <summary>What is wrong.</summary>
    public string Reason { get; }
}
