using Cairn.Raft;

namespace Cairn.Node.Replication;

/// <summary>
/// The replicated state as the consensus sees it. Every method runs on the consensus loop's
/// thread, in log order, so implementations need no locking against each other.
/// </summary>
public interface IStateMachine
{
    /// <summary>The highest log index whose effect the state holds.</summary>
    ulong AppliedIndex { get; }

    /// <summary>Applies one committed command (an empty one is a new leader's no-op; skip it but count it).</summary>
    void Apply(ulong index, ReadOnlyMemory<byte> command);

    /// <summary>Applies a committed membership change after Raft took it into its configuration.</summary>
    void ApplyConfChange(ulong index, ConfChange change, ConfState state);

    /// <summary>
    /// Writes the whole state as of <see cref="AppliedIndex"/> to <paramref name="output"/>, for a
    /// snapshot. The consensus streams it straight into the snapshot file, so a snapshot never has
    /// to fit in memory as one array.
    /// </summary>
    void WriteSnapshot(Stream output);

    /// <summary>Replaces the whole state with a snapshot's (written by <see cref="WriteSnapshot"/> on some member) at <paramref name="index"/>.</summary>
    void RestoreSnapshot(ulong index, ReadOnlyMemory<byte> data);
}
