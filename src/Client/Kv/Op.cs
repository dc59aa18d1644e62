using Etcdserverpb;
using Google.Protobuf;

namespace Cairn.Client;

/// <summary>Builds the operations of a transaction branch.</summary>
public static class Op
{
    /// <summary>A Range inside the transaction.</summary>
    public static RequestOp Get(KeyRange range, GetOptions? options = null) =>
        new() { RequestRange = (options ?? new GetOptions()).ToRequest(range) };

    /// <summary>A Put of a UTF-8 value.</summary>
    public static RequestOp Put(string key, string value, PutOptions? options = null) =>
        Put(ByteString.CopyFromUtf8(key), ByteString.CopyFromUtf8(value), options);

    /// <summary>A Put.</summary>
    public static RequestOp Put(ByteString key, ByteString value, PutOptions? options = null) =>
        new() { RequestPut = (options ?? new PutOptions()).ToRequest(key, value) };

    /// <summary>A DeleteRange.</summary>
    public static RequestOp Delete(KeyRange range, DeleteOptions? options = null) =>
        new() { RequestDeleteRange = (options ?? new DeleteOptions()).ToRequest(range) };

    /// <summary>A nested transaction (etcd 3.3+).</summary>
    public static RequestOp Txn(TxnRequest txn) => new() { RequestTxn = txn };

    /// <summary>True when the operation only reads (recursively), so re-sending it is harmless.</summary>
    internal static bool IsReadOnly(RequestOp op) => op.RequestCase switch
    {
        RequestOp.RequestOneofCase.RequestRange => true,
        RequestOp.RequestOneofCase.RequestTxn => IsReadOnly(op.RequestTxn),
        _ => false,
    };

    /// <summary>True when every branch of the transaction only reads.</summary>
    internal static bool IsReadOnly(TxnRequest txn) => txn.Success.All(IsReadOnly) && txn.Failure.All(IsReadOnly);
}
