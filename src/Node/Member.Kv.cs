using Cairn.Protocol;
using Cairnpb;
using Etcdserverpb;

namespace Cairn.Node;

public sealed partial class Member
{
    /// <summary>
    /// Range: serializable reads are served from the local store as it is; linearizable ones
    /// first wait until this member has applied everything committed when the read arrived.
    /// </summary>
    public async Task<RangeResponse> RangeAsync(RangeRequest request, CancellationToken cancellationToken)
    {
        Cairn.Mvcc.RequestValidation.CheckRange(request);
        var author = await AuthorAsync(cancellationToken).ConfigureAwait(false);
        Auth.CheckRange(author, request.Key, request.RangeEnd);
        if (!request.Serializable)
            await Consensus.WaitForLinearizableReadAsync(cancellationToken).ConfigureAwait(false);
        var response = Store.Range(request);
        StampHeader(response);
        return response;
    }

    /// <summary>Put, replicated.</summary>
    public Task<PutResponse> PutAsync(PutRequest request, CancellationToken cancellationToken)
    {
        Cairn.Mvcc.RequestValidation.CheckPut(request);
        return ProposeAsync<PutResponse>(new InternalRequest { Put = request }, cancellationToken);
    }

    /// <summary>DeleteRange, replicated.</summary>
    public Task<DeleteRangeResponse> DeleteRangeAsync(DeleteRangeRequest request, CancellationToken cancellationToken)
    {
        Cairn.Mvcc.RequestValidation.CheckDeleteRange(request);
        return ProposeAsync<DeleteRangeResponse>(new InternalRequest { DeleteRange = request }, cancellationToken);
    }

    /// <summary>
    /// Txn: one that only reads is served like a Range (no log entry), as etcd does; one that may
    /// write is replicated.
    /// </summary>
    public async Task<TxnResponse> TxnAsync(TxnRequest request, CancellationToken cancellationToken)
    {
        Cairn.Mvcc.RequestValidation.CheckTxn(request, Config.MaxTxnOps);
        if (IsReadOnly(request))
        {
            Cairn.Node.Auth.AuthApply.CheckTxn(Auth, await AuthorAsync(cancellationToken).ConfigureAwait(false), request);
            await Consensus.WaitForLinearizableReadAsync(cancellationToken).ConfigureAwait(false);
            var response = Store.Txn(request);
            StampHeader(response);
            return response;
        }

        return await ProposeAsync<TxnResponse>(new InternalRequest { Txn = request }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Compact, replicated (every member drops the same history).</summary>
    public Task<CompactionResponse> CompactAsync(CompactionRequest request, CancellationToken cancellationToken) =>
        ProposeAsync<CompactionResponse>(new InternalRequest { Compaction = request }, cancellationToken);

    private static bool IsReadOnly(TxnRequest txn)
    {
        foreach (var op in txn.Success)
            if (!IsReadOnly(op)) return false;
        foreach (var op in txn.Failure)
            if (!IsReadOnly(op)) return false;
        return true;
    }

    private static bool IsReadOnly(RequestOp op) => op.RequestCase switch
    {
        RequestOp.RequestOneofCase.RequestRange => true,
        RequestOp.RequestOneofCase.RequestTxn => IsReadOnly(op.RequestTxn),
        _ => false,
    };
}
