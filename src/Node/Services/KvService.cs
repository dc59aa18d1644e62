using Cairn.Grpc;
using Etcdserverpb;
using static Cairn.Node.Services.ServiceRegistration;

namespace Cairn.Node.Services;

/// <summary>etcd's KV service: Range, Put, DeleteRange, Txn, Compact.</summary>
internal static class KvService
{
    /// <summary>Registers the service's methods.</summary>
    public static void Map(GrpcServiceRegistry registry, Member member)
    {
        Unary<RangeRequest, RangeResponse>(registry, member, "/etcdserverpb.KV/Range", RangeRequest.Parser, member.RangeAsync);
        Unary<PutRequest, PutResponse>(registry, member, "/etcdserverpb.KV/Put", PutRequest.Parser, member.PutAsync);
        Unary<DeleteRangeRequest, DeleteRangeResponse>(registry, member, "/etcdserverpb.KV/DeleteRange", DeleteRangeRequest.Parser, member.DeleteRangeAsync);
        Unary<TxnRequest, TxnResponse>(registry, member, "/etcdserverpb.KV/Txn", TxnRequest.Parser, member.TxnAsync);
        Unary<CompactionRequest, CompactionResponse>(registry, member, "/etcdserverpb.KV/Compact", CompactionRequest.Parser, member.CompactAsync);
    }
}
