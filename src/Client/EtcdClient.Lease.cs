using System.Runtime.CompilerServices;
using Etcdserverpb;

namespace Cairn.Client;

public sealed partial class EtcdClient
{
    /// <summary>
    /// Grants a lease of <paramref name="ttlSeconds"/> (etcd LeaseGrant); <paramref name="id"/> 0 lets the
    /// server choose the id. Not re-sent after a failure that may have reached a member (a second
    /// grant would leave a stray lease, or fail with "lease already exists" for an explicit id).
    /// </summary>
    public Task<LeaseGrantResponse> LeaseGrantAsync(long ttlSeconds, long id = 0, CallOptions? callOptions = null, CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        return _invoker.CallAsync("/etcdserverpb.Lease/LeaseGrant", new LeaseGrantRequest { TTL = ttlSeconds, ID = id }, LeaseGrantResponse.Parser,
            CallSafety.NotIdempotent, callOptions, cancellationToken);
    }

    /// <summary>
    /// Revokes a lease and deletes its keys in one revision (etcd LeaseRevoke). An unknown lease
    /// fails with NotFound "etcdserver: requested lease not found". Not re-sent after a failure
    /// that may have reached a member (the re-send would report the lease as not found).
    /// </summary>
    public Task<LeaseRevokeResponse> LeaseRevokeAsync(long id, CallOptions? callOptions = null, CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        return _invoker.CallAsync("/etcdserverpb.Lease/LeaseRevoke", new LeaseRevokeRequest { ID = id }, LeaseRevokeResponse.Parser,
            CallSafety.NotIdempotent, callOptions, cancellationToken);
    }

    /// <summary>
    /// A lease's remaining and granted TTL, and with <paramref name="keys"/> the keys attached to it
    /// (etcd LeaseTimeToLive). An unknown or expired lease answers TTL -1. A read: retried elsewhere.
    /// </summary>
    public Task<LeaseTimeToLiveResponse> LeaseTimeToLiveAsync(long id, bool keys = false, CallOptions? callOptions = null, CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        return _invoker.CallAsync("/etcdserverpb.Lease/LeaseTimeToLive", new LeaseTimeToLiveRequest { ID = id, Keys = keys }, LeaseTimeToLiveResponse.Parser,
            CallSafety.Idempotent, callOptions, cancellationToken);
    }

    /// <summary>The ids of every live lease (etcd LeaseLeases). A read: retried elsewhere.</summary>
    public Task<LeaseLeasesResponse> LeasesAsync(CallOptions? callOptions = null, CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        return _invoker.CallAsync("/etcdserverpb.Lease/LeaseLeases", new LeaseLeasesRequest(), LeaseLeasesResponse.Parser,
            CallSafety.Idempotent, callOptions, cancellationToken);
    }

    /// <summary>
    /// Keeps a lease alive while enumerated (etcd LeaseKeepAlive), yielding the server's answers.
    /// Every lease of the client shares one LeaseKeepAlive stream: each gets a keep-alive every third
    /// of the TTL the server last reported, the first one at once. When the stream's member fails,
    /// the stream moves to another endpoint and every lease on it continues there, for as long as
    /// the lease would still be alive; past that (or when the first answer does not come within
    /// <see cref="EtcdClientOptions.CallTimeout"/>) the enumeration throws the last
    /// <see cref="EtcdException"/>. A lease that expired or was revoked ends it with NotFound
    /// "etcdserver: requested lease not found". Cancelling the token or leaving the loop stops this
    /// enumeration's keep-alives (the lease then expires after its TTL unless another enumeration
    /// keeps it alive or it is revoked); disposing the client ends the enumeration normally.
    /// <para>A consumer that reads slowly sees the latest answer: at most one unread answer is kept.</para>
    /// </summary>
    /// <param name="id">The lease to keep alive.</param>
    /// <param name="cancellationToken">Stops keeping the lease alive.</param>
    public async IAsyncEnumerable<LeaseKeepAliveResponse> LeaseKeepAlive(long id, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        var consumer = _keepAlives.Add(id);
        try
        {
            while (await consumer.Answers.WaitOrThrowAsync(cancellationToken).ConfigureAwait(false))
            {
                while (consumer.Answers.TryRead(out var answer))
                {
                    yield return answer;
                }
            }
        }
        finally
        {
            _keepAlives.Remove(consumer);
        }
    }

    /// <summary>LeaseKeepAlive streams opened so far: one for all leases, plus one per failover (or per restart after no lease was kept); a diagnostic.</summary>
    public int LeaseKeepAliveStreamsOpened => _keepAlives.StreamsOpened;

    /// <summary>The endpoint of the open LeaseKeepAlive stream, or null (test seam).</summary>
    internal string? LeaseKeepAliveEndpoint => _keepAlives.StreamEndpoint;
}
