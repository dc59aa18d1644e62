using Cairn.Mvcc;
using Cairn.Protocol;
using Cairnpb;
using Google.Protobuf;

namespace Cairn.Node;

/// <summary>
/// Applies committed commands to the MVCC store, in log order, on the apply thread. This is the
/// one place where replicated state changes: every member runs it on the same entries and so
/// reaches the same state. Writes flow through the store's observer, which notifies watchers.
/// </summary>
internal sealed class Applier(KvStore store, Lessor lessor, ulong memberId, ApplyWaiters waiters)
{
    /// <summary>The last log index applied (persisted with snapshots so restarts skip applied entries).</summary>
    public ulong AppliedIndex { get; private set; }

    /// <summary>Applies one committed entry and answers its waiter if it was proposed here.</summary>
    public void Apply(ulong index, ReadOnlyMemory<byte> data)
    {
        if (index <= AppliedIndex)
            return;
        AppliedIndex = index;
        if (data.IsEmpty)
            return; // a new leader's empty entry
        InternalRequest request;
        try
        {
            request = InternalRequest.Parser.ParseFrom(data.Span);
        }
        catch (InvalidProtocolBufferException)
        {
            // Every member fails the same way on the same bytes, so skipping keeps replicas equal.
            return;
        }

        IMessage? response = null;
        RpcException? error = null;
        try
        {
            response = Execute(request);
        }
        catch (RpcException e)
        {
            error = e;
        }

        if (request.MemberId == memberId)
            waiters.Complete(request.Id, response, error);
    }

    private IMessage Execute(InternalRequest request) => request.RequestCase switch
    {
        InternalRequest.RequestOneofCase.Put => store.Put(request.Put),
        InternalRequest.RequestOneofCase.DeleteRange => store.DeleteRange(request.DeleteRange),
        InternalRequest.RequestOneofCase.Txn => store.Txn(request.Txn),
        InternalRequest.RequestOneofCase.Compaction => store.Compact(request.Compaction),
        InternalRequest.RequestOneofCase.LeaseGrant => lessor.ApplyGrant(request.LeaseGrant),
        InternalRequest.RequestOneofCase.LeaseRevoke => lessor.ApplyRevoke(request.LeaseRevoke),
        _ => throw new RpcException(StatusCode.Unimplemented, $"cairn: unsupported command {request.RequestCase}"),
    };
}
