using Cairn.Mvcc;
using Cairn.Protocol;
using Cairn.Raft.Diagnostics;
using Cairnpb;
using Etcdserverpb;
using Google.Protobuf;

namespace Cairn.Node;

/// <summary>
/// One Cairn member: the MVCC store, the consensus that orders writes into it, and the
/// bookkeeping that answers each request. The path of a write:
/// <c>KvService</c> (gRPC) → <see cref="ProposeAsync{T}(InternalRequest, CancellationToken)"/> (encode, register a waiter) →
/// <see cref="IConsensus.ProposeAsync"/> (order, commit) → <see cref="Applier.Apply"/> (apply to
/// <see cref="KvStore"/>, whose observer notifies watchers) → the waiter completes → response.
/// </summary>
public sealed partial class Member : IAsyncDisposable
{
    private readonly ApplyWaiters _waiters = new();
    private readonly Applier _applier;

    /// <summary>Creates the member; <see cref="Start"/> begins applying.</summary>
    internal Member(MemberConfig config, KvStore store, Lessor lessor, ClusterMembers members, IConsensus consensus, ulong memberId, ulong clusterId)
    {
        Lessor = lessor;
        Members = members;
        Config = config;
        Store = store;
        Consensus = consensus;
        MemberId = memberId;
        ClusterId = clusterId;
        Auth = new Auth.AuthStore();
        _applier = new Applier(store, lessor, members, memberId, _waiters, Auth);
        consensus.PeerRequestHandler = AnswerPeerRequestAsync;
    }

    /// <summary>The configuration the member started with.</summary>
    public MemberConfig Config { get; }

    /// <summary>The member's MVCC store (apply thread writes, request threads read).</summary>
    public KvStore Store { get; }

    /// <summary>Leases of this member's store.</summary>
    internal Lessor Lessor { get; }

    /// <summary>The replicated member list.</summary>
    internal ClusterMembers Members { get; }

    /// <summary>The state machine the consensus applies to.</summary>
    internal Applier StateMachine => _applier;

    /// <summary>The ordering of writes (single-member or Raft).</summary>
    public IConsensus Consensus { get; }

    /// <summary>This member's id.</summary>
    public ulong MemberId { get; }

    /// <summary>The cluster's id.</summary>
    public ulong ClusterId { get; }

    /// <summary>How long a write waits for its apply (etcd: 5 s + 2 election timeouts).</summary>
    public TimeSpan RequestTimeout => TimeSpan.FromSeconds(5) + TimeSpan.FromMilliseconds(2 * Config.ElectionTimeoutMs);

    /// <summary>Starts applying committed entries.</summary>
    public void Start() => Consensus.Start(_applier);

    /// <summary>A response header for this member at the given store revision.</summary>
    public ResponseHeader Header(long revision) => new()
    {
        ClusterId = ClusterId,
        MemberId = MemberId,
        Revision = revision,
        RaftTerm = Consensus.Term,
    };

    /// <summary>
    /// Replicates a write and waits for this member to apply it; returns the apply's response with
    /// this member's header (revision as of that apply).
    /// </summary>
    public Task<T> ProposeAsync<T>(InternalRequest request, CancellationToken cancellationToken) where T : class, IMessage =>
        ProposeAsync<T>(request, author: null, cancellationToken);

    /// <summary>
    /// <see cref="ProposeAsync{T}(InternalRequest, CancellationToken)"/> on behalf of
    /// <paramref name="author"/> (the member's own acts), or of the current call's user when null.
    /// </summary>
    internal async Task<T> ProposeAsync<T>(InternalRequest request, Auth.AuthInfo? author, CancellationToken cancellationToken) where T : class, IMessage
    {
        if (author is { } own)
            (request.AuthUser, request.AuthRevision) = (own.Username, own.Revision);
        else
            await StampAuthorAsync(request, cancellationToken).ConfigureAwait(false);
        var (id, applied) = _waiters.Register();
        LatencyTrace.Mark(TraceStage.RequestStart, id);
        request.Id = id;
        request.MemberId = MemberId;
        var bytes = request.ToByteArray();
        if (EtcdRequestSize(request, bytes.Length) > Config.MaxRequestBytes)
        {
            _waiters.Cancel(id, EtcdErrors.RequestTooLarge());
            throw EtcdErrors.RequestTooLarge();
        }

        // The proposer does not wait for "accepted" before waiting for "applied": that was a second
        // thread-pool resumption per write (the loop completes both), on the CPU that bounds
        // throughput with many clients. A refusal (no leader, too many requests, cancelled) fails the
        // waiter with the refusal's error instead, so the caller sees the same exception as before;
        // a refusal that is already known runs that continuation inline, before the wait below.
        var accepted = Consensus.ProposeAsync(bytes, cancellationToken);
        if (!accepted.IsCompletedSuccessfully)
            FailWaiterIfRefused(accepted.AsTask(), id);

        // Once proposed, the entry may still apply after the caller gives up; the waiter then
        // completes unobserved, which is harmless. A proposal lost with a leader change never
        // applies: the timeout turns that into etcd's "request timed out" (outcome unknown).
        IMessage response;
        try
        {
            response = await applied.WaitAsync(RequestTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            _waiters.Cancel(id, EtcdErrors.Timeout());
            throw EtcdErrors.Timeout();
        }
        LatencyTrace.Mark(TraceStage.WaiterResumed, id);
        StampHeader(response);
        return (T)response;
    }

    private void FailWaiterIfRefused(Task accepted, ulong id) =>
        accepted.ContinueWith(static (t, state) =>
            {
                var (waiters, id) = ((ApplyWaiters, ulong))state!;
                waiters.Cancel(id, t.Exception?.InnerException ?? new OperationCanceledException());
            },
            (_waiters, id), CancellationToken.None,
            TaskContinuationOptions.NotOnRanToCompletion | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

    // etcd compares --max-request-bytes with its InternalRaftRequest: the request plus a header
    // message holding the request id (tag, length, tag, varint id). Ours carries the id directly
    // and the proposer's member id besides, so count as etcd does: drop the member-id field, add
    // the two bytes of etcd's header wrapper. Clients then meet the limit at the same value size.
    private static int EtcdRequestSize(InternalRequest request, int size) =>
        size - (1 + CodedOutputStream.ComputeUInt64Size(request.MemberId)) + 2;

    /// <summary>Fills cluster id, member id and term into a response produced by the store.</summary>
    public void StampHeader(IMessage response)
    {
        var header = response switch
        {
            PutResponse r => r.Header ??= new ResponseHeader(),
            DeleteRangeResponse r => r.Header ??= new ResponseHeader(),
            TxnResponse r => r.Header ??= new ResponseHeader(),
            CompactionResponse r => r.Header ??= new ResponseHeader(),
            RangeResponse r => r.Header ??= new ResponseHeader(),
            LeaseGrantResponse r => r.Header ??= new ResponseHeader(),
            LeaseRevokeResponse r => r.Header ??= new ResponseHeader(),
            _ => null,
        };
        if (header is null)
            return;
        header.ClusterId = ClusterId;
        header.MemberId = MemberId;
        // Headers of responses nested in a txn keep only their revision, as etcd's do.
        header.RaftTerm = Consensus.Term;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await Consensus.DisposeAsync().ConfigureAwait(false);
        _waiters.FailAll(EtcdErrors.Stopped());
    }
}
