using Cairn.Grpc;
using Cairn.Protocol;
using Etcdserverpb;
using static Cairn.Node.Services.ServiceRegistration;

namespace Cairn.Node.Services;

/// <summary>etcd's Cluster service. Membership changes need the Raft-backed member.</summary>
internal static class ClusterService
{
    /// <summary>Registers the service's methods.</summary>
    public static void Map(GrpcServiceRegistry registry, Member member)
    {
        Unary<MemberListRequest, MemberListResponse>(registry, member, "/etcdserverpb.Cluster/MemberList", MemberListRequest.Parser, _ => member.MemberList());
        Unary<MemberAddRequest, MemberAddResponse>(registry, member, "/etcdserverpb.Cluster/MemberAdd", MemberAddRequest.Parser, _ => throw NotYet());
        Unary<MemberRemoveRequest, MemberRemoveResponse>(registry, member, "/etcdserverpb.Cluster/MemberRemove", MemberRemoveRequest.Parser, _ => throw NotYet());
        Unary<MemberUpdateRequest, MemberUpdateResponse>(registry, member, "/etcdserverpb.Cluster/MemberUpdate", MemberUpdateRequest.Parser, _ => throw NotYet());
        Unary<MemberPromoteRequest, MemberPromoteResponse>(registry, member, "/etcdserverpb.Cluster/MemberPromote", MemberPromoteRequest.Parser, _ => throw NotYet());
    }

    private static RpcException NotYet() =>
        new(StatusCode.Unimplemented, "cairn: membership changes need the replicated member, not available in this build");
}
