using System.Collections.Concurrent;
using Cairn.Protocol;
using Google.Protobuf;

namespace Cairn.Node;

/// <summary>
/// Callers waiting for their proposal to be applied, keyed by the proposal id. The apply loop
/// completes a waiter with the response the apply produced (or the error it raised), so a
/// write is answered with exactly the revision its own apply created.
/// </summary>
internal sealed class ApplyWaiters
{
    private readonly ConcurrentDictionary<ulong, TaskCompletionSource<IMessage>> _waiting = new();

    // Ids must never repeat across restarts of this member: after a restart the member re-applies
    // its own old entries from the WAL, and an old entry whose id matched a new waiter would answer
    // that waiter with someone else's result (jepsen-lite caught exactly this: a put acknowledged
    // with the revision of an old put of another key). Starting from the clock in ms << 20 leaves
    // room for a million proposals per millisecond of uptime before reaching the next start.
    private long _nextId = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() << 20;

    /// <summary>Reserves an id and the task that its apply will complete.</summary>
    public (ulong Id, Task<IMessage> Applied) Register()
    {
        var id = (ulong)Interlocked.Increment(ref _nextId);
        var tcs = new TaskCompletionSource<IMessage>(TaskCreationOptions.RunContinuationsAsynchronously);
        _waiting[id] = tcs;
        return (id, tcs.Task);
    }

    /// <summary>Forgets a waiter whose proposal was never accepted (its entry cannot be applied).</summary>
    public void Cancel(ulong id, Exception error)
    {
        if (_waiting.TryRemove(id, out var tcs))
            tcs.TrySetException(error);
    }

    /// <summary>Hands the apply's outcome to the waiter, if this member still has one.</summary>
    public void Complete(ulong id, IMessage? response, RpcException? error)
    {
        if (!_waiting.TryRemove(id, out var tcs))
            return;
        if (error is not null)
            tcs.TrySetException(error);
        else
            tcs.TrySetResult(response!);
    }

    /// <summary>Fails every waiter (the member is stopping).</summary>
    public void FailAll(Exception error)
    {
        foreach (var id in _waiting.Keys)
            Cancel(id, error);
    }
}
