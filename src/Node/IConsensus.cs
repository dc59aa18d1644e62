namespace Cairn.Node;

/// <summary>
/// What the member needs from replication: order proposals into one log and hand every
/// committed entry, in log order, to the apply callback. The single-member
/// <see cref="LocalConsensus"/> and the Raft-backed implementation both honour it.
/// </summary>
public interface IConsensus : IAsyncDisposable
{
    /// <summary>
    /// Starts delivering committed entries to <paramref name="apply"/>, one at a time, in order,
    /// on one thread. Entries delivered before a restart are not delivered again.
    /// </summary>
    void Start(Action<ulong, ReadOnlyMemory<byte>> apply);

    /// <summary>
    /// Offers a command for the log. Completes when the command is accepted for ordering (not
    /// when committed); throws <see cref="Cairn.Protocol.RpcException"/> if it cannot be (no
    /// leader, stopping, too many pending).
    /// </summary>
    ValueTask ProposeAsync(ReadOnlyMemory<byte> command, CancellationToken cancellationToken);

    /// <summary>
    /// Completes once this member has applied every entry committed before the call
    /// (a ReadIndex barrier): a local read after it is linearizable.
    /// </summary>
    ValueTask WaitForLinearizableReadAsync(CancellationToken cancellationToken);

    /// <summary>The leader this member knows of, or 0 for none.</summary>
    ulong LeaderId { get; }

    /// <summary>The current term.</summary>
    ulong Term { get; }

    /// <summary>The highest committed log index known.</summary>
    ulong CommitIndex { get; }

    /// <summary>The highest log index applied.</summary>
    ulong AppliedIndex { get; }
}
