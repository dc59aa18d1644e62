using Cairn.Node.Auth;
using Cairn.Protocol;
using Cairnpb;
using Etcdserverpb;

namespace Cairn.Node;

public sealed partial class Member
{
    private long _leaseSequence;

    /// <summary>
    /// LeaseGrant, replicated. An id of 0 is chosen here, before proposing, so the log carries it
    /// and every member grants the same id: the member id's low 16 bits, the time in ms, and a
    /// counter, kept positive — unique across members and restarts in practice, as etcd's are.
    /// </summary>
    public Task<LeaseGrantResponse> LeaseGrantAsync(LeaseGrantRequest request, CancellationToken cancellationToken)
    {
        if (request.TTL > Lessor.MaxTtlSeconds)
            throw new RpcException(StatusCode.OutOfRange, "etcdserver: too large lease TTL");
        if (request.ID == 0)
        {
            var seq = Interlocked.Increment(ref _leaseSequence);
            var ms = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            var id = (long)(((MemberId & 0xFFFF) << 47) | (((ulong)ms & 0xFF_FFFF_FFFF) << 7) | ((ulong)seq & 0x7F)) & long.MaxValue;
            request = new LeaseGrantRequest(request) { ID = id == 0 ? 1 : id };
        }
        else if (request.ID < 0)
        {
            throw new RpcException(StatusCode.InvalidArgument, "etcdserver: lease ID must be positive");
        }

        return ProposeAsync<LeaseGrantResponse>(new InternalRequest { LeaseGrant = request }, cancellationToken);
    }

    /// <summary>LeaseRevoke, replicated: the lease's keys are deleted in one revision.</summary>
    public Task<LeaseRevokeResponse> LeaseRevokeAsync(LeaseRevokeRequest request, CancellationToken cancellationToken) =>
        ProposeAsync<LeaseRevokeResponse>(new InternalRequest { LeaseRevoke = request }, cancellationToken);

    /// <summary>
    /// Revokes a lease whose clock ran out (the leader's expiry). As root, as etcd does
    /// (authStore.WithRoot): the expiry is the cluster's own act, and with auth enabled a revoke
    /// without a user would be refused ("user name is empty") and the lease would never expire.
    /// </summary>
    internal Task<LeaseRevokeResponse> RevokeExpiredLeaseAsync(long id, CancellationToken cancellationToken) =>
        ProposeAsync<LeaseRevokeResponse>(new InternalRequest { LeaseRevoke = new LeaseRevokeRequest { ID = id } },
            new AuthInfo(AuthStore.RootUser, Auth.Revision), cancellationToken);

    /// <summary>
    /// One keep-alive: restarts the lease's clock and answers its TTL (0 if unknown). Only the
    /// leader's clock decides expiry, so a follower forwards the renewal to the leader, as etcd's
    /// LeaseRenew does, and answers the leader's TTL.
    /// </summary>
    public async Task<LeaseKeepAliveResponse> LeaseKeepAliveAsync(LeaseKeepAliveRequest request, CancellationToken cancellationToken)
    {
        var response = await OnLeaderAsync(
            PeerRequestCodec.Kind.LeaseKeepAlive, request, LeaseKeepAliveResponse.Parser,
            ct => RenewOnLeaderAsync(request, ct), cancellationToken).ConfigureAwait(false);
        return new LeaseKeepAliveResponse { Header = Header(Store.Revision), ID = request.ID, TTL = response.TTL };
    }

    /// <summary>
    /// LeaseTimeToLive: the remaining TTL by the leader's clock (a follower's own clock is not the
    /// one that expires the lease), so a follower asks the leader, as etcd's does; the header is this member's.
    /// </summary>
    public async Task<LeaseTimeToLiveResponse> LeaseTimeToLiveAsync(LeaseTimeToLiveRequest request, CancellationToken cancellationToken)
    {
        var response = await OnLeaderAsync(
            PeerRequestCodec.Kind.LeaseTimeToLive, request, LeaseTimeToLiveResponse.Parser,
            ct => TimeToLiveOnLeaderAsync(request, ct), cancellationToken).ConfigureAwait(false);
        response.Header = Header(Store.Revision);
        return response;
    }

    /// <summary>LeaseLeases, served locally.</summary>
    public LeaseLeasesResponse LeaseLeases()
    {
        var response = Lessor.Leases();
        response.Header = Header(Store.Revision);
        return response;
    }
}
