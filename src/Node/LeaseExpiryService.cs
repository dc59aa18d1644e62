using Cairn.Protocol;
using Etcdserverpb;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Cairn.Node;

/// <summary>
/// The leader's half of leases: every 500 ms (etcd's cadence) it proposes the revocation of
/// leases whose clock ran out. Only the leader does this, so a lease expires once, through the
/// log, at the same revision everywhere.
/// </summary>
internal sealed class LeaseExpiryService(Member member, ILogger<LeaseExpiryService> logger) : BackgroundService
{
    private const int MaxRevokesPerRound = 500;

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(500));
        var wasLeader = false;
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
        {
            var isLeader = member.Consensus.LeaderId == member.MemberId;
            if (isLeader && !wasLeader)
                member.Lessor.RefreshAll();
            wasLeader = isLeader;
            if (!isLeader)
                continue;
            foreach (var id in member.Lessor.Expired(MaxRevokesPerRound))
            {
                try
                {
                    await member.RevokeExpiredLeaseAsync(id, stoppingToken).ConfigureAwait(false);
                }
                catch (RpcException e) when (e.Status == StatusCode.NotFound)
                {
                    // Revoked meanwhile by a client: nothing to do.
                }
                catch (RpcException e)
                {
                    NodeLog.LeaseRevokeFailed(logger, id, e.Message);
                }
            }
        }
    }
}
