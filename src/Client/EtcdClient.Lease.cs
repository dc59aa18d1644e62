using System.Runtime.CompilerServices;
using Cairn.Protocol;
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
    /// Keeps a lease alive while enumerated (etcd LeaseKeepAlive): a keep-alive every third of the
    /// TTL the server last reported, each answer yielded. When the member fails the keep-alive moves
    /// to another endpoint, for as long as the lease would still be alive; past that the
    /// enumeration throws the last <see cref="EtcdException"/>. A lease that expired or was revoked
    /// ends it with NotFound "etcdserver: requested lease not found". Cancelling the token or
    /// leaving the loop stops the keep-alives (the lease then expires after its TTL unless revoked).
    /// </summary>
    /// <param name="id">The lease to keep alive.</param>
    /// <param name="cancellationToken">Stops keeping the lease alive.</param>
    public async IAsyncEnumerable<LeaseKeepAliveResponse> LeaseKeepAlive(long id, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        var request = new LeaseKeepAliveRequest { ID = id };
        using var stream = new LeaseKeepAliveStream(_pool, Options);
        // The first answer must come within the call timeout; later ones until the lease would expire.
        var deadline = DateTime.UtcNow + Options.CallTimeout;
        while (true)
        {
            var response = await stream.KeepAliveAsync(request, deadline, cancellationToken).ConfigureAwait(false);
            if (response.TTL <= 0)
            {
                throw EtcdException.From(EtcdErrors.LeaseNotFound(), stream.Endpoint?.Address);
            }
            var answered = DateTime.UtcNow;
            yield return response;
            deadline = answered + TimeSpan.FromSeconds(response.TTL);
            var next = answered + TimeSpan.FromSeconds(Math.Max(response.TTL / 3.0, 0.5)) - DateTime.UtcNow;
            if (next > TimeSpan.Zero)
            {
                await Task.Delay(next, cancellationToken).ConfigureAwait(false);
            }
        }
    }
}
