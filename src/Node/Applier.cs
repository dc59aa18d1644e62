using Cairn.Mvcc;
using Cairn.Node.Auth;
using Cairn.Node.Replication;
using Cairn.Protocol;
using Cairn.Raft;
using Cairn.Raft.Diagnostics;
using Cairnpb;
using Google.Protobuf;

namespace Cairn.Node;

/// <summary>
/// The member's state machine: applies committed commands to the MVCC store, leases and member
/// list, in log order, on the consensus loop. This is the one place replicated state changes:
/// every member runs it on the same entries and so reaches the same state. Store writes flow
/// through the store's observer, which notifies watchers, before the waiting caller is answered.
/// </summary>
internal sealed class Applier(KvStore store, Lessor lessor, ClusterMembers members, ulong memberId, ApplyWaiters waiters, AuthStore auth) : IStateMachine
{
    /// <inheritdoc />
    public ulong AppliedIndex { get; private set; }

    /// <summary>Raised after a membership change or restore was applied (the transport re-reads peers).</summary>
    public event Action? MembershipChanged;

    /// <inheritdoc />
    public void Apply(ulong index, ReadOnlyMemory<byte> data)
    {
        if (index <= AppliedIndex)
            return; // applied before a restart: the snapshot already holds it
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
        {
            LatencyTrace.Mark(TraceStage.WaiterCompleted, request.Id, index);
            waiters.Complete(request.Id, response, error);
        }
    }

    /// <inheritdoc />
    public void ApplyConfChange(ulong index, ConfChange change, ConfState state)
    {
        if (index <= AppliedIndex)
            return;
        AppliedIndex = index;
        members.ApplyConfChange(change);
        MembershipChanged?.Invoke();
    }

    /// <inheritdoc />
    public void WriteSnapshot(Stream output) => StateSnapshot.Write(output, AppliedIndex, members, lessor, store, auth);

    /// <inheritdoc />
    public void RestoreSnapshot(ulong index, ReadOnlyMemory<byte> data)
    {
        if (!data.IsEmpty)
            StateSnapshot.Read(data, members, lessor, store, auth);
        AppliedIndex = index;
        MembershipChanged?.Invoke();
    }

    private IMessage Execute(InternalRequest request)
    {
        // Permissions are checked here, with the author stamped on the entry, so that every
        // member decides alike and a change of the auth store before this entry counts.
        AuthApply.Check(auth, store, request);
        if (AuthApply.Execute(auth, store, request, AppliedIndex) is { } authResponse)
            return authResponse;
        switch (request.RequestCase)
        {
            case InternalRequest.RequestOneofCase.Put: return store.Put(request.Put);
            case InternalRequest.RequestOneofCase.DeleteRange: return store.DeleteRange(request.DeleteRange);
            case InternalRequest.RequestOneofCase.Txn: return store.Txn(request.Txn);
            case InternalRequest.RequestOneofCase.Compaction: return store.Compact(request.Compaction);
            case InternalRequest.RequestOneofCase.LeaseGrant: return lessor.ApplyGrant(request.LeaseGrant);
            case InternalRequest.RequestOneofCase.LeaseRevoke: return lessor.ApplyRevoke(request.LeaseRevoke);
            case InternalRequest.RequestOneofCase.MemberAttributes:
                members.ApplyAttributes(request.MemberAttributes);
                return new Etcdserverpb.MemberListResponse();
            case InternalRequest.RequestOneofCase.MemberUpdate:
                if (!members.ApplyUpdate(request.MemberUpdate))
                    throw new RpcException(StatusCode.NotFound, "etcdserver: member not found");
                MembershipChanged?.Invoke();
                return new Etcdserverpb.MemberUpdateResponse();
            default:
                throw new RpcException(StatusCode.Unimplemented, $"cairn: unsupported command {request.RequestCase}");
        }
    }
}
