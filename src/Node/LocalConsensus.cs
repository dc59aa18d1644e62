using System.Threading.Channels;
using Cairn.Protocol;

namespace Cairn.Node;

/// <summary>
/// Single-member ordering without Raft: a proposal is committed as soon as it is queued, and one
/// loop applies the queue in order. State lives in memory only (the Raft-backed consensus adds
/// the WAL). Every write still travels as encoded bytes through the same apply path the
/// replicated member uses, so the apply code cannot tell the difference.
/// </summary>
public sealed class LocalConsensus : IConsensus
{
    // Bounded so a burst of writers waits instead of growing memory without limit.
    private readonly Channel<ReadOnlyMemory<byte>> _queue = Channel.CreateBounded<ReadOnlyMemory<byte>>(
        new BoundedChannelOptions(8192) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
    private readonly CancellationTokenSource _stop = new();
    private readonly ulong _memberId;
    private Task _loop = Task.CompletedTask;
    private ulong _committed;
    private ulong _applied;
    private readonly object _barrierLock = new();
    private readonly List<(ulong Index, TaskCompletionSource Done)> _barriers = [];

    /// <summary>Creates the consensus of a member that is alone and so always its own leader.</summary>
    public LocalConsensus(ulong memberId) => _memberId = memberId;

    /// <inheritdoc />
    public ulong LeaderId => _memberId;

    /// <inheritdoc />
    public ulong Term => 1;

    /// <inheritdoc />
    public ulong CommitIndex => Volatile.Read(ref _committed);

    /// <inheritdoc />
    public ulong AppliedIndex => Volatile.Read(ref _applied);

    /// <inheritdoc />
    public void Start(Action<ulong, ReadOnlyMemory<byte>> apply) => _loop = Task.Run(() => RunAsync(apply));

    /// <inheritdoc />
    public async ValueTask ProposeAsync(ReadOnlyMemory<byte> command, CancellationToken cancellationToken)
    {
        try
        {
            await _queue.Writer.WriteAsync(command, cancellationToken).ConfigureAwait(false);
            Interlocked.Increment(ref _committed);
        }
        catch (ChannelClosedException)
        {
            throw EtcdErrors.Stopped();
        }
    }

    /// <inheritdoc />
    public ValueTask WaitForLinearizableReadAsync(CancellationToken cancellationToken)
    {
        var target = CommitIndex;
        lock (_barrierLock)
        {
            if (_applied >= target)
                return ValueTask.CompletedTask;
            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _barriers.Add((target, done));
            return new ValueTask(done.Task.WaitAsync(cancellationToken));
        }
    }

    private async Task RunAsync(Action<ulong, ReadOnlyMemory<byte>> apply)
    {
        var reader = _queue.Reader;
        try
        {
            while (await reader.WaitToReadAsync(_stop.Token).ConfigureAwait(false))
            {
                while (reader.TryRead(out var command))
                {
                    var index = _applied + 1;
                    apply(index, command);
                    lock (_barrierLock)
                    {
                        Volatile.Write(ref _applied, index);
                        _barriers.RemoveAll(b =>
                        {
                            if (b.Index > index) return false;
                            b.Done.TrySetResult();
                            return true;
                        });
                    }
                }
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        lock (_barrierLock)
        {
            foreach (var b in _barriers)
                b.Done.TrySetException(EtcdErrors.Stopped());
            _barriers.Clear();
        }
        _stop.Dispose();
    }
}
