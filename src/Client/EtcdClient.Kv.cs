using Etcdserverpb;
using Google.Protobuf;

namespace Cairn.Client;

public sealed partial class EtcdClient
{
    /// <summary>Reads a key or range (etcd Range). Retried on another endpoint when a member fails.</summary>
    /// <param name="range">A key (a string converts), <see cref="KeyRange.Prefix(string)"/>, <see cref="KeyRange.FromKey(string)"/>, …</param>
    /// <param name="options">Limit, revision, sorting, serializable, keys/count only, revision bounds.</param>
    /// <param name="callOptions">Deadline and require-leader for this call.</param>
    /// <param name="cancellationToken">Cancels the call (throws <see cref="OperationCanceledException"/>).</param>
    public Task<RangeResponse> GetAsync(KeyRange range, GetOptions? options = null, CallOptions? callOptions = null, CancellationToken cancellationToken = default) =>
        RangeAsync((options ?? new GetOptions()).ToRequest(range), callOptions, cancellationToken);

    /// <summary>Sends a Range request as given.</summary>
    public Task<RangeResponse> RangeAsync(RangeRequest request, CallOptions? callOptions = null, CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        return _invoker.CallAsync("/etcdserverpb.KV/Range", request, RangeResponse.Parser, CallSafety.Idempotent, callOptions, cancellationToken);
    }

    /// <summary>Writes a UTF-8 value. Not re-sent after a failure that may have reached a member.</summary>
    public Task<PutResponse> PutAsync(string key, string value, PutOptions? options = null, CallOptions? callOptions = null, CancellationToken cancellationToken = default) =>
        PutAsync(ByteString.CopyFromUtf8(key), ByteString.CopyFromUtf8(value), options, callOptions, cancellationToken);

    /// <summary>Writes a value. Not re-sent after a failure that may have reached a member.</summary>
    public Task<PutResponse> PutAsync(ByteString key, ByteString value, PutOptions? options = null, CallOptions? callOptions = null, CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        return _invoker.CallAsync("/etcdserverpb.KV/Put", (options ?? new PutOptions()).ToRequest(key, value), PutResponse.Parser,
            CallSafety.NotIdempotent, callOptions, cancellationToken);
    }

    /// <summary>Deletes a key or range. Not re-sent after a failure that may have reached a member.</summary>
    public Task<DeleteRangeResponse> DeleteAsync(KeyRange range, DeleteOptions? options = null, CallOptions? callOptions = null, CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        return _invoker.CallAsync("/etcdserverpb.KV/DeleteRange", (options ?? new DeleteOptions()).ToRequest(range), DeleteRangeResponse.Parser,
            CallSafety.NotIdempotent, callOptions, cancellationToken);
    }

    /// <summary>Starts a transaction: <c>client.Txn().If(…).Then(…).Else(…).CommitAsync()</c>.</summary>
    public TxnBuilder Txn() => new(this);

    /// <summary>Sends a transaction; a read-only one is retried like a read, one that writes like a write.</summary>
    public Task<TxnResponse> TxnAsync(TxnRequest request, CallOptions? callOptions = null, CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        var safety = Op.IsReadOnly(request) ? CallSafety.Idempotent : CallSafety.NotIdempotent;
        return _invoker.CallAsync("/etcdserverpb.KV/Txn", request, TxnResponse.Parser, safety, callOptions, cancellationToken);
    }

    /// <summary>Compacts the history before <paramref name="revision"/> (etcd Compact); <paramref name="physical"/> waits until it is removed from disk.</summary>
    public Task<CompactionResponse> CompactAsync(long revision, bool physical = false, CallOptions? callOptions = null, CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        return _invoker.CallAsync("/etcdserverpb.KV/Compact", new CompactionRequest { Revision = revision, Physical = physical }, CompactionResponse.Parser,
            CallSafety.NotIdempotent, callOptions, cancellationToken);
    }
}
