using Cairn.Grpc;
using Etcdserverpb;
using static Cairn.Node.Services.ServiceRegistration;

namespace Cairn.Node.Services;

/// <summary>etcd's Lease service.</summary>
internal static class LeaseService
{
    /// <summary>Registers the service's methods.</summary>
    public static void Map(GrpcServiceRegistry registry, Member member)
    {
        Unary<LeaseGrantRequest, LeaseGrantResponse>(registry, member, "/etcdserverpb.Lease/LeaseGrant", LeaseGrantRequest.Parser, member.LeaseGrantAsync);
        Unary<LeaseRevokeRequest, LeaseRevokeResponse>(registry, member, "/etcdserverpb.Lease/LeaseRevoke", LeaseRevokeRequest.Parser, member.LeaseRevokeAsync);
        Unary<LeaseTimeToLiveRequest, LeaseTimeToLiveResponse>(registry, member, "/etcdserverpb.Lease/LeaseTimeToLive", LeaseTimeToLiveRequest.Parser, member.LeaseTimeToLiveAsync);
        Unary<LeaseLeasesRequest, LeaseLeasesResponse>(registry, member, "/etcdserverpb.Lease/LeaseLeases", LeaseLeasesRequest.Parser, _ => member.LeaseLeases());
        registry.AddDuplexStreaming<LeaseKeepAliveRequest, LeaseKeepAliveResponse>(
            "/etcdserverpb.Lease/LeaseKeepAlive", LeaseKeepAliveRequest.Parser, async (requests, writer, context) =>
            {
                member.CheckRequireLeader(context.GetHeader(RequireLeaderKey));
                await foreach (var request in requests.WithCancellation(context.CancellationToken).ConfigureAwait(false))
                {
                    var response = await member.LeaseKeepAliveAsync(request, context.CancellationToken).ConfigureAwait(false);
                    await writer.WriteAsync(response, context.CancellationToken).ConfigureAwait(false);
                }
            });
    }
}
