using Cairn.Protocol;

namespace Cairn.Node.Replication;

public sealed partial class RaftConsensus
{
    /// <inheritdoc />
    /// <remarks>
    /// The state machine is written only on the loop, and its parts (store, leases, auth, members)
    /// each lock separately, so a copy taken from another thread could see a write applied to one
    /// part and not yet to another. The loop takes it between two Readies instead, exactly as it
    /// takes its own snapshots (MaybeSnapshot); it blocks the loop for as long as serialising takes.
    /// Bounded by the read timeout, so a stuck or stopping loop fails the call rather than hanging it.
    /// </remarks>
    public async Task<byte[]> TakeStateSnapshotAsync(CancellationToken cancellationToken)
    {
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bounded.CancelAfter(_readTimeout);
        var input = new StateSnapshotInput(bounded.Token);
        try
        {
            await EnqueueAsync(input, bounded.Token).ConfigureAwait(false);
            return await input.Done.Task.WaitAsync(bounded.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw EtcdErrors.Timeout();
        }
    }

    // On the loop: the backup needs the state as one array (the caller digests and pads it).
    private byte[] TakeStateSnapshot()
    {
        using var output = new MemoryStream();
        _machine.WriteSnapshot(output);
        return output.ToArray();
    }
}
