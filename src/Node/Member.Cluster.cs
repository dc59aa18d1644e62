using Cairn.Protocol;
using Cairn.Raft;
using Cairnpb;
using Etcdserverpb;
using Google.Protobuf;

namespace Cairn.Node;

public sealed partial class Member
{
    /// <summary>The members as the replicated list holds them.</summary>
    public MemberListResponse MemberList()
    {
        var response = Members.ToList();
        response.Header = Header(Store.Revision);
        return response;
    }

    /// <summary>
    /// True when the replicated member list holds this member as a learner (etcd's
    /// IsMemberExist(ID) &amp;&amp; IsLearner()). Read from the list, not from Raft's configuration: the
    /// list is what clients are served by (see <see cref="Published"/>), so Status, MemberList and
    /// <see cref="LearnerGuard"/> agree from the first request on, where Raft's flag trails the
    /// list by an apply step.
    /// </summary>
    public bool IsLearner => Members.All.TryGetValue(MemberId, out var me) && me.IsLearner;

    /// <summary>
    /// MemberAdd: a new voter or learner, by peer URLs. Its id is derived from the URLs and the
    /// cluster token exactly as a founder's is (etcd adds the time; we do not), so a joining member
    /// can compute every member's id from its --initial-cluster and reach them before it has the
    /// leader's snapshot.
    /// </summary>
    public async Task<MemberAddResponse> MemberAddAsync(MemberAddRequest request, CancellationToken cancellationToken)
    {
        if (request.PeerURLs.Count == 0)
            throw new RpcException(StatusCode.InvalidArgument, "etcdserver: member peer URLs are not provided");
        foreach (var url in request.PeerURLs)
        {
            if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != "http" && uri.Scheme != "https"))
                throw new RpcException(StatusCode.InvalidArgument, $"etcdserver: invalid peer URL \"{url}\"");
        }

        var taken = Members.All.Values.SelectMany(m => m.PeerURLs).ToHashSet(StringComparer.Ordinal);
        if (request.PeerURLs.Any(taken.Contains))
            throw new RpcException(StatusCode.FailedPrecondition, "etcdserver: Peer URLs already exists");
        var id = MemberIdentity.MemberId(request.PeerURLs.Select(u => new Uri(u)), Config.InitialClusterToken);
        var record = new Etcdserverpb.Member { ID = id, IsLearner = request.IsLearner };
        record.PeerURLs.AddRange(request.PeerURLs);
        await ChangeMembershipAsync(new ConfChange(request.IsLearner ? ConfChangeType.AddLearner : ConfChangeType.AddVoter, id, record.ToByteArray()), cancellationToken)
            .ConfigureAwait(false);
        var list = MemberList();
        return new MemberAddResponse { Header = list.Header, Member = record, Members = { list.Members } };
    }

    /// <summary>MemberRemove.</summary>
    public async Task<MemberRemoveResponse> MemberRemoveAsync(MemberRemoveRequest request, CancellationToken cancellationToken)
    {
        if (!Members.All.ContainsKey(request.ID))
            throw new RpcException(StatusCode.NotFound, "etcdserver: member not found");
        await ChangeMembershipAsync(new ConfChange(ConfChangeType.RemoveMember, request.ID, ReadOnlyMemory<byte>.Empty), cancellationToken).ConfigureAwait(false);
        var list = MemberList();
        return new MemberRemoveResponse { Header = list.Header, Members = { list.Members } };
    }

    /// <summary>MemberPromote: a learner becomes a voter.</summary>
    public async Task<MemberPromoteResponse> MemberPromoteAsync(MemberPromoteRequest request, CancellationToken cancellationToken)
    {
        if (!Members.All.TryGetValue(request.ID, out var member))
            throw new RpcException(StatusCode.NotFound, "etcdserver: member not found");
        if (!member.IsLearner)
            throw new RpcException(StatusCode.FailedPrecondition, "etcdserver: can only promote a learner member");
        await ChangeMembershipAsync(new ConfChange(ConfChangeType.AddVoter, request.ID, ReadOnlyMemory<byte>.Empty), cancellationToken).ConfigureAwait(false);
        var list = MemberList();
        return new MemberPromoteResponse { Header = list.Header, Members = { list.Members } };
    }

    /// <summary>MemberUpdate: new peer URLs, replicated as a command (Raft's configuration is unchanged).</summary>
    public async Task<MemberUpdateResponse> MemberUpdateAsync(MemberUpdateRequest request, CancellationToken cancellationToken)
    {
        if (!Members.All.ContainsKey(request.ID))
            throw new RpcException(StatusCode.NotFound, "etcdserver: member not found");
        await ProposeAsync<MemberUpdateResponse>(new InternalRequest { MemberUpdate = request }, cancellationToken).ConfigureAwait(false);
        var list = MemberList();
        return new MemberUpdateResponse { Header = list.Header, Members = { list.Members } };
    }

    /// <summary>MoveLeader: hands leadership to another voter.</summary>
    public async Task<MoveLeaderResponse> MoveLeaderAsync(MoveLeaderRequest request, CancellationToken cancellationToken)
    {
        if (!Members.All.TryGetValue(request.TargetID, out var target) || target.IsLearner)
            throw new RpcException(StatusCode.FailedPrecondition, "etcdserver: bad leader transferee");
        if (Consensus.LeaderId != MemberId)
            throw new RpcException(StatusCode.FailedPrecondition, "etcdserver: not leader");
        if (request.TargetID != MemberId)
            await Consensus.TransferLeadershipAsync(request.TargetID, cancellationToken).ConfigureAwait(false);
        return new MoveLeaderResponse { Header = Header(Store.Revision) };
    }

    private readonly TaskCompletionSource _published = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>
    /// Completes once the replicated member list shows this member's name and client URLs. Client
    /// requests wait for it, as etcd's do (its client listeners serve only after ReadyNotify), so
    /// no client ever sees this member in `member list` without its URLs.
    /// </summary>
    public Task Published => _published.Task;

    /// <summary>
    /// Announces this member's name and client URLs through the log until the replicated list shows
    /// them (etcd's publish), so `member list` on any member prints them.
    /// </summary>
    public async Task PublishAttributesAsync(CancellationToken cancellationToken)
    {
        var urls = Config.AdvertiseClientUrls.Select(u => u.ToString().TrimEnd('/')).ToList();
        while (!cancellationToken.IsCancellationRequested)
        {
            if (Members.All.TryGetValue(MemberId, out var me) && me.Name == Config.Name && me.ClientURLs.SequenceEqual(urls))
            {
                _published.TrySetResult();
                return;
            }
            if (Consensus.LeaderId != 0)
            {
                var attributes = new Etcdserverpb.Member { ID = MemberId, Name = Config.Name };
                attributes.ClientURLs.AddRange(urls);
                try
                {
                    await ProposeAsync<MemberListResponse>(new InternalRequest { MemberAttributes = attributes }, cancellationToken).ConfigureAwait(false);
                    continue;
                }
                catch (RpcException)
                {
                    // No leader yet, or it changed: try again shortly.
                }
            }

            await Task.Delay(TimeSpan.FromMilliseconds(200), cancellationToken).ConfigureAwait(false);
        }
    }

    // One change at a time is Raft's rule; the caller waits until this member applied it.
    private async Task ChangeMembershipAsync(ConfChange change, CancellationToken cancellationToken)
    {
        var applied = Members.WaitForChange(change.MemberId);
        await Consensus.ProposeConfChangeAsync(change, cancellationToken).ConfigureAwait(false);
        await applied.WaitAsync(RequestTimeout, cancellationToken).ConfigureAwait(false);
    }
}
