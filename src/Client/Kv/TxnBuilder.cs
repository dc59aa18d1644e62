using Etcdserverpb;

namespace Cairn.Client;

/// <summary>
/// A transaction: if every guard holds, the Then operations run, else the Else operations, all at
/// one revision. Build with <see cref="EtcdClient.Txn"/>, then <see cref="If"/>, <see cref="Then"/>,
/// <see cref="Else"/> (each may be called several times; they append) and <see cref="CommitAsync"/>.
/// A transaction that only reads is retried like a read; one that writes follows the write rule.
/// </summary>
public sealed class TxnBuilder
{
    private readonly EtcdClient? _client;

    internal TxnBuilder(EtcdClient? client) => _client = client;

    /// <summary>Creates a builder not bound to a client (use <see cref="Build"/> and pass the request yourself).</summary>
    public TxnBuilder() : this(null)
    {
    }

    /// <summary>The request built so far.</summary>
    public TxnRequest Request { get; } = new();

    /// <summary>Adds guards (all must hold).</summary>
    public TxnBuilder If(params Compare[] compares)
    {
        Request.Compare.AddRange(compares);
        return this;
    }

    /// <summary>Adds operations run when every guard holds.</summary>
    public TxnBuilder Then(params RequestOp[] ops)
    {
        Request.Success.AddRange(ops);
        return this;
    }

    /// <summary>Adds operations run when a guard fails.</summary>
    public TxnBuilder Else(params RequestOp[] ops)
    {
        Request.Failure.AddRange(ops);
        return this;
    }

    /// <summary>The request (a copy), e.g. to nest it with <see cref="Op.Txn"/>.</summary>
    public TxnRequest Build() => Request.Clone();

    /// <summary>Sends the transaction.</summary>
    /// <param name="options">Deadline and require-leader for this call.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public Task<TxnResponse> CommitAsync(CallOptions? options = null, CancellationToken cancellationToken = default) =>
        (_client ?? throw new InvalidOperationException("This builder is not bound to a client; use EtcdClient.Txn().")).TxnAsync(Request, options, cancellationToken);
}
