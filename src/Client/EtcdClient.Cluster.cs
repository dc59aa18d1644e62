using Cairn.Protocol;
using Etcdserverpb;

namespace Cairn.Client;

public sealed partial class EtcdClient
{
    /// <summary>Lists the cluster's members (etcd Cluster.MemberList).</summary>
    public Task<MemberListResponse> MemberListAsync(CallOptions? callOptions = null, CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        return _invoker.CallAsync("/etcdserverpb.Cluster/MemberList", new MemberListRequest(), MemberListResponse.Parser,
            CallSafety.Idempotent, callOptions, cancellationToken);
    }

    /// <summary>
    /// The status of one member (version, db size, leader, raft index and term). With
    /// <paramref name="endpoint"/> the call goes to that endpoint only (no rotation: the answer is
    /// about that member); without it, to the current endpoint with the usual read retries.
    /// </summary>
    public async Task<StatusResponse> StatusAsync(string? endpoint = null, CallOptions? callOptions = null, CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        if (endpoint == null)
        {
            return await _invoker.CallAsync("/etcdserverpb.Maintenance/Status", new StatusRequest(), StatusResponse.Parser,
                CallSafety.Idempotent, callOptions, cancellationToken).ConfigureAwait(false);
        }
        var target = FindEndpoint(endpoint);
        try
        {
            return await target.Channel.UnaryAsync("/etcdserverpb.Maintenance/Status", new StatusRequest(), StatusResponse.Parser, null,
                DateTime.UtcNow + (callOptions?.Timeout ?? Options.CallTimeout), cancellationToken).ConfigureAwait(false);
        }
        catch (RpcException e)
        {
            cancellationToken.ThrowIfCancellationRequested();
            throw EtcdException.From(e, target.Address);
        }
    }

    /// <summary>
    /// Transfers leadership to member <paramref name="targetMemberId"/> (etcd Maintenance.MoveLeader).
    /// The request must reach the current leader, so the client first asks each endpoint's Status
    /// for the leader id and sends it to the endpoint whose member id matches.
    /// </summary>
    public async Task<MoveLeaderResponse> MoveLeaderAsync(ulong targetMemberId, CallOptions? callOptions = null, CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        EtcdException? last = null;
        foreach (var endpoint in _pool.Endpoints)
        {
            StatusResponse status;
            try
            {
                status = await StatusAsync(endpoint.Address, callOptions, cancellationToken).ConfigureAwait(false);
            }
            catch (EtcdException e)
            {
                last = e;
                continue;
            }
            if (status.Leader != 0 && status.Leader == status.Header.MemberId)
            {
                try
                {
                    return await endpoint.Channel.UnaryAsync("/etcdserverpb.Maintenance/MoveLeader", new MoveLeaderRequest { TargetID = targetMemberId },
                        MoveLeaderResponse.Parser, null, DateTime.UtcNow + (callOptions?.Timeout ?? Options.CallTimeout), cancellationToken).ConfigureAwait(false);
                }
                catch (RpcException e)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    throw EtcdException.From(e, endpoint.Address);
                }
            }
        }
        throw last ?? new EtcdException(StatusCode.Unavailable, "etcdclient: no leader endpoint among the client's endpoints");
    }

    private Endpoint FindEndpoint(string endpoint)
    {
        var normalized = Endpoint.Normalize(endpoint);
        return _pool.Endpoints.FirstOrDefault(e => e.Address == normalized)
            ?? throw new ArgumentException($"{endpoint} is not one of the client's endpoints.", nameof(endpoint));
    }
}
