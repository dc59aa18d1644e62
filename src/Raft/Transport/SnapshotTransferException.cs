namespace Cairn.Raft.Transport;

/// <summary>
/// A snapshot was not delivered: the peer is unknown or unreachable, refused the connection, the
/// connection broke, or the receiver's handler failed or found a corrupt chunk. The Raft core
/// reports the snapshot as failed and retries later.
/// </summary>
public sealed class SnapshotTransferException : IOException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="inner">Underlying cause, if any.</param>
    public SnapshotTransferException(string message, Exception? inner = null)
        : base(message, inner)
    {
    }
}
