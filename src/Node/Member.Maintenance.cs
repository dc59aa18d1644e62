using Cairn.Protocol;
using Etcdserverpb;

namespace Cairn.Node;

public sealed partial class Member
{
    /// <summary>The version reported by Status: the etcd API level Cairn implements.</summary>
    public const string ApiVersion = "3.4.0";

    /// <summary>
    /// WithRequireLeader: a call whose metadata says <c>hasleader: true</c> fails on a member
    /// that knows no leader, so the client can try another member instead of waiting.
    /// </summary>
    public void CheckRequireLeader(string? hasLeaderHeader)
    {
        if (hasLeaderHeader is not null && hasLeaderHeader.Equals("true", StringComparison.OrdinalIgnoreCase) && Consensus.LeaderId == 0)
            throw EtcdErrors.NoLeader();
    }

    /// <summary>
    /// Cancelled when this member has been without a leader for three election timeouts (etcd's
    /// monitor for WithRequireLeader streams); a fresh token is issued once a leader is back.
    /// </summary>
    public CancellationToken LeaderLostToken => _leaderLost.Token;

    private CancellationTokenSource _leaderLost = new();
    private int _checksWithoutLeader;

    /// <summary>
    /// One check of etcd's require-leader monitor, run every election timeout: after three checks
    /// in a row without a leader, streams that asked for one are ended with "etcdserver: no leader".
    /// </summary>
    public void CheckLeader()
    {
        if (Consensus.LeaderId != 0)
        {
            _checksWithoutLeader = 0;
            if (_leaderLost.IsCancellationRequested)
                Interlocked.Exchange(ref _leaderLost, new CancellationTokenSource()).Dispose();
            return;
        }

        if (++_checksWithoutLeader == 3)
            _leaderLost.Cancel();
    }

    /// <summary>
    /// The barrier a watch from "now" (and a progress request) waits on: a ReadIndex, so the watch
    /// starts no earlier than any write already acknowledged anywhere. Without a leader the barrier
    /// gives up after two election timeouts and the watch starts from the local revision, as etcd's
    /// does: a watch without require-leader must still open on a partitioned member, and it
    /// replays what it missed once the member catches up, so nothing is lost — it may only start
    /// earlier than the newest acknowledged write.
    /// </summary>
    public async ValueTask WatchBarrierAsync(CancellationToken cancellationToken)
    {
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bounded.CancelAfter(TimeSpan.FromMilliseconds(2 * Config.ElectionTimeoutMs));
        try
        {
            await Consensus.WaitForLinearizableReadAsync(bounded.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
        }
        catch (RpcException)
        {
        }
    }

    /// <summary>Status of this member (etcdctl endpoint status).</summary>
    public StatusResponse Status()
    {
        var size = Store.ApproximateBytes;
        var response = new StatusResponse
        {
            Header = Header(Store.Revision),
            Version = ApiVersion,
            DbSize = size,
            DbSizeInUse = size,
            Leader = Consensus.LeaderId,
            RaftIndex = Consensus.CommitIndex,
            RaftTerm = Consensus.Term,
            RaftAppliedIndex = Consensus.AppliedIndex,
            IsLearner = IsLearner,
            DbSizeQuota = Config.QuotaBackendBytes,
        };
        if (Consensus.LeaderId == 0)
            response.Errors.Add(EtcdErrors.NoLeaderMessage);
        return response;
    }

    /// <summary>HashKV at a revision (0: current), equal on every member that applied the same log.</summary>
    public HashKVResponse HashKV(HashKVRequest request)
    {
        var hash = Store.HashKV(request.Revision, out var compacted, out var hashRevision);
        return new HashKVResponse
        {
            Header = Header(Store.Revision),
            Hash = hash,
            CompactRevision = compacted,
            HashRevision = hashRevision,
        };
    }

    /// <summary>Hash of the whole keyspace (Cairn's store has only the key space to hash).</summary>
    public HashResponse Hash() => new()
    {
        Header = Header(Store.Revision),
        Hash = Store.HashKV(0, out _, out _),
    };

    /// <summary>Alarm: Cairn raises no alarms yet, so GET lists none and DEACTIVATE is a no-op.</summary>
    public AlarmResponse Alarm(AlarmRequest request)
    {
        if (request.Action == AlarmRequest.Types.AlarmAction.Activate)
            throw new RpcException(StatusCode.Unimplemented, "cairn: activating alarms is not supported");
        // etcd answers an alarm list with no alarms with an empty message, header included.
        return new AlarmResponse();
    }

}
