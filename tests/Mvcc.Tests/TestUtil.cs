using System.Text;
using Cairn.Protocol;
using Etcdserverpb;
using Google.Protobuf;

namespace Cairn.Mvcc.Tests;

internal static class TestUtil
{
    public static ByteString B(string s) => ByteString.CopyFrom(Encoding.Latin1.GetBytes(s));

    public static string S(ByteString b) => Encoding.Latin1.GetString(b.Span);

    public static PutResponse Put(this KvStore store, string key, string value, long lease = 0, bool prevKv = false) =>
        store.Put(new PutRequest { Key = B(key), Value = B(value), Lease = lease, PrevKv = prevKv });

    public static DeleteRangeResponse Delete(this KvStore store, string key, string end = "", bool prevKv = false) =>
        store.DeleteRange(new DeleteRangeRequest { Key = B(key), RangeEnd = B(end), PrevKv = prevKv });

    public static RangeResponse Get(this KvStore store, string key, string end = "", long rev = 0) =>
        store.Range(new RangeRequest { Key = B(key), RangeEnd = B(end), Revision = rev });

    public static RangeResponse All(this KvStore store, long rev = 0) =>
        store.Range(new RangeRequest { Key = B("\0"), RangeEnd = B("\0"), Revision = rev });

    public static string Keys(this RangeResponse r) => string.Join(",", r.Kvs.Select(kv => S(kv.Key)));

    public static string Pairs(this RangeResponse r) => string.Join(",", r.Kvs.Select(kv => S(kv.Key) + "=" + S(kv.Value)));

    public static RequestOp Op(PutRequest p) => new() { RequestPut = p };

    public static RequestOp Op(DeleteRangeRequest d) => new() { RequestDeleteRange = d };

    public static RequestOp Op(RangeRequest r) => new() { RequestRange = r };

    public static RequestOp Op(TxnRequest t) => new() { RequestTxn = t };

    public static PutRequest PutReq(string key, string value) => new() { Key = B(key), Value = B(value) };

    public static DeleteRangeRequest DelReq(string key, string end = "") => new() { Key = B(key), RangeEnd = B(end) };

    public static RangeRequest GetReq(string key, string end = "") => new() { Key = B(key), RangeEnd = B(end) };

    /// <summary>Asserts the exact etcd message and gRPC status.</summary>
    public static void Throws(StatusCode status, string message, Action action)
    {
        var e = Assert.Throws<RpcException>(action);
        Assert.Equal(message, e.Message);
        Assert.Equal(status, e.Status);
    }

    public static byte[] Snapshot(KvStore store)
    {
        using var ms = new MemoryStream();
        store.WriteSnapshot(ms);
        return ms.ToArray();
    }
}
