using Cairn.Grpc;
using Etcdserverpb;
using static Cairn.Node.Services.ServiceRegistration;

namespace Cairn.Node.Services;

/// <summary>etcd's Cluster service: the member list and membership changes.</summary>
internal static class ClusterService
{
    /// <summary>Registers the service's methods.</summary>
    public static void Map(GrpcServiceRegistry registry, Member member)
    {
        Unary<MemberListRequest, MemberListResponse>(registry, member, "/etcdserverpb.Cluster/MemberList", MemberListRequest.Parser, _ => member.MemberList());
        Unary<MemberAddRequest, MemberAddResponse>(registry, member, "/etcdserverpb.Cluster/MemberAdd", MemberAddRequest.Parser, member.MemberAddAsync);
        Unary<MemberRemoveRequest, MemberRemoveResponse>(registry, member, "/etcdserverpb.Cluster/MemberRemove", MemberRemoveRequest.Parser, member.MemberRemoveAsync);
        Unary<MemberUpdateRequest, MemberUpdateResponse>(registry, member, "/etcdserverpb.Cluster/MemberUpdate", MemberUpdateRequest.Parser, member.MemberUpdateAsync);
        Unary<MemberPromoteRequest, MemberPromoteResponse>(registry, member, "/etcdserverpb.Cluster/MemberPromote", MemberPromoteRequest.Parser, member.MemberPromoteAsync);
    }
}
