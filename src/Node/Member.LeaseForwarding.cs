using Cairn.Protocol;
using Etcdserverpb;
using Google.Protobuf;

namespace Cairn.Node;

public sealed partial class Member
{
    /// <summary>Pause between attempts while there is no leader or it could not be reached (etcd: 50 ms).</summary>
    private static readonly TimeSpan ForwardRetryDelay = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// Runs <paramref name="local"/> when this member leads, else sends the request to the leader
    /// and returns its response. A leader that is unreachable, or that answers it no longer
    /// leads, is asked again once this member knows a leader, until the request timeout
    /// (etcd's ReqTimeout) or the caller's token: then "etcdserver: no leader" when there is
    /// still none, else "etcdserver: request timed out", as etcd's LeaseRenew answers.
    /// </summary>
    private async Task<TResponse> OnLeaderAsync<TResponse>(
        PeerRequestCodec.Kind kind, IMessage request, MessageParser<TResponse> parser,
        Func<CancellationToken, Task<TResponse>> local, CancellationToken cancellationToken)
        where TResponse : class, IMessage<TResponse>
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(RequestTimeout);
        byte[]? encoded = null;
        try
        {
            while (true)
            {
                var leader = Consensus.LeaderId;
                if (leader == MemberId)
                    return await local(deadline.Token).ConfigureAwait(false);
                if (leader != 0)
                {
                    encoded ??= PeerRequestCodec.EncodeRequest(kind, request);
                    try
                    {
                        var answer = await Consensus.SendPeerRequestAsync(leader, encoded, deadline.Token).ConfigureAwait(false);
                        if (PeerRequestCodec.DecodeAnswer(answer, parser, out var response) == PeerRequestCodec.Status.Ok)
                            return response!;
                        // NotLeader: the leader moved; ask the next one this member learns of.
                        // Unsupported: an older leader; asking again may reach a newer one.
                    }
                    catch (IOException)
                    {
                        // Unreachable, or it failed to answer: throttle, then try whoever leads then.
                    }
                }

                await Task.Delay(ForwardRetryDelay, deadline.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw Consensus.LeaderId == 0 ? EtcdErrors.NoLeader() : EtcdErrors.Timeout();
        }
    }

    /// <summary>
    /// Answers a request another member sent over the peer transport (a follower forwarding a
    /// lease call): only the leader's lessor answers; a member that no longer leads says so, and
    /// the asker retries with the new leader.
    /// </summary>
    internal async Task<byte[]> AnswerPeerRequestAsync(ulong from, ReadOnlyMemory<byte> request, CancellationToken cancellationToken)
    {
        if (!PeerRequestCodec.TryDecodeRequest(request, out var kind, out var body))
            return PeerRequestCodec.Answer(PeerRequestCodec.Status.Unsupported);
        if (Consensus.LeaderId != MemberId)
            return PeerRequestCodec.Answer(PeerRequestCodec.Status.NotLeader);
        switch (kind)
        {
            case PeerRequestCodec.Kind.LeaseKeepAlive:
                var keepAlive = LeaseKeepAliveRequest.Parser.ParseFrom(body.Span);
                return PeerRequestCodec.Answer(await RenewOnLeaderAsync(keepAlive, cancellationToken).ConfigureAwait(false));
            case PeerRequestCodec.Kind.LeaseTimeToLive:
                var timeToLive = LeaseTimeToLiveRequest.Parser.ParseFrom(body.Span);
                return PeerRequestCodec.Answer(await TimeToLiveOnLeaderAsync(timeToLive, cancellationToken).ConfigureAwait(false));
            default:
                return PeerRequestCodec.Answer(PeerRequestCodec.Status.Unsupported);
        }
    }

    /// <summary>The leader's renewal: restarts the lease's clock; TTL 0 when the lease is unknown.</summary>
    private async Task<LeaseKeepAliveResponse> RenewOnLeaderAsync(LeaseKeepAliveRequest request, CancellationToken cancellationToken)
    {
        var ttl = Lessor.Renew(request.ID);
        if (ttl == 0 && await CatchUpAppliedAsync(cancellationToken).ConfigureAwait(false))
            ttl = Lessor.Renew(request.ID);
        return new LeaseKeepAliveResponse { ID = request.ID, TTL = ttl };
    }

    /// <summary>The leader's time-to-live: TTL -1 when the lease is unknown, as etcd answers.</summary>
    private async Task<LeaseTimeToLiveResponse> TimeToLiveOnLeaderAsync(LeaseTimeToLiveRequest request, CancellationToken cancellationToken)
    {
        var response = Lessor.TimeToLive(request);
        if (response.TTL == -1 && await CatchUpAppliedAsync(cancellationToken).ConfigureAwait(false))
            response = Lessor.TimeToLive(request);
        return response;
    }

    /// <summary>
    /// A lease the leader does not know yet may be one whose grant is committed but not yet applied
    /// here (a client that granted through a follower may renew at once); like etcd's leader
    /// (waitAppliedIndex), wait for the apply before answering "not found". True when it waited.
    /// </summary>
    private async Task<bool> CatchUpAppliedAsync(CancellationToken cancellationToken)
    {
        if (Consensus.AppliedIndex >= Consensus.CommitIndex)
            return false;
        await Consensus.WaitForLinearizableReadAsync(cancellationToken).ConfigureAwait(false);
        return true;
    }
}
