using Cairn.Raft;
using Cairn.Raft.Diagnostics;

namespace Cairn.Node.Replication;

/// <summary>Something another thread asks of the consensus loop.</summary>
internal abstract class LoopInput;

/// <summary>One heartbeat interval passed.</summary>
internal sealed class TickInput : LoopInput
{
    public static readonly TickInput Instance = new();
}

/// <summary>A message from a peer (or a received snapshot) for the core.</summary>
internal sealed class StepInput(Message message) : LoopInput
{
    public Message Message { get; } = message;
}

/// <summary>A command to append; <see cref="Accepted"/> completes once the core took it (or fails).</summary>
internal sealed class ProposeInput(ReadOnlyMemory<byte> command, DateTime giveUpAt) : LoopInput
{
    public ReadOnlyMemory<byte> Command { get; } = command;
    public DateTime GiveUpAt { get; } = giveUpAt;
    public TaskCompletionSource Accepted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>When it was created (0 unless <see cref="LatencyTrace"/> is on).</summary>
    public long CreatedAt { get; } = LatencyTrace.Now();
}

/// <summary>A linearizable read barrier; <see cref="Done"/> completes once the member applied up to the read index.</summary>
internal sealed class ReadInput(DateTime giveUpAt) : LoopInput
{
    public DateTime GiveUpAt { get; } = giveUpAt;
    public ulong Index { get; set; }
    public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}

/// <summary>A membership change to propose.</summary>
internal sealed class ConfChangeInput(ConfChange change) : LoopInput
{
    public ConfChange Change { get; } = change;
    public TaskCompletionSource Accepted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}

/// <summary>A leadership transfer request.</summary>
internal sealed class TransferInput(ulong target) : LoopInput
{
    public ulong Target { get; } = target;
    public TaskCompletionSource Accepted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}

/// <summary>The outcome of sending a snapshot to a peer, or a peer found unreachable.</summary>
internal sealed class PeerStatusInput(ulong peer, bool? snapshotSucceeded) : LoopInput
{
    public ulong Peer { get; } = peer;

    /// <summary>True/false: a snapshot transfer's outcome; null: the peer is unreachable.</summary>
    public bool? SnapshotSucceeded { get; } = snapshotSucceeded;
}

/// <summary>
/// A copy of the state machine's whole state (for a backup), taken on the loop between two
/// applies so the store, leases, auth and members are all as of one applied index.
/// </summary>
internal sealed class StateSnapshotInput(CancellationToken cancellationToken) : LoopInput
{
    /// <summary>The caller's token: a request given up before the loop reaches it is not served.</summary>
    public CancellationToken CancellationToken { get; } = cancellationToken;
    public TaskCompletionSource<byte[]> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}
