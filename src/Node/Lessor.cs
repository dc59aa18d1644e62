using System.Diagnostics;
using Cairn.Mvcc;
using Cairn.Protocol;
using Etcdserverpb;
using Google.Protobuf;

namespace Cairn.Node;

/// <summary>
/// Leases: granted and revoked through the log (so every member holds the same set and revokes
/// delete the same keys at the same revision), kept alive and expired by the leader only.
/// </summary>
/// <remarks>
/// Two kinds of state live here. The lease set (id → granted TTL) is replicated: it changes only
/// on the apply thread, from <see cref="ApplyGrant"/> and <see cref="ApplyRevoke"/>. Expiry times
/// are local and volatile, as in etcd: a member that becomes leader restarts every lease's clock
/// (<see cref="RefreshAll"/>), so a leader change can only lengthen a lease, never cut it short.
/// Which keys a lease holds is the store's own index (<see cref="KvStore.KeysWithLease"/>), kept
/// with every write, so there is no second copy of that mapping here to drift from it.
/// </remarks>
internal sealed class Lessor
{
    /// <summary>The largest TTL etcd accepts, in seconds.</summary>
    public const long MaxTtlSeconds = 9_000_000_000;

    private readonly object _lock = new();
    private readonly Dictionary<long, Lease> _leases = [];
    private readonly long _minTtlSeconds;
    private KvStore? _store;

    private sealed class Lease(long id, long ttl)
    {
        public long Id { get; } = id;
        public long Ttl { get; } = ttl;
        public long ExpiresAtTicks { get; set; }
    }

    /// <summary>Creates the lessor; leases shorter than <paramref name="minTtlSeconds"/> are lengthened to it (etcd: 1.5 election timeouts, rounded up).</summary>
    public Lessor(long minTtlSeconds) => _minTtlSeconds = minTtlSeconds;

    /// <summary>Binds the store whose keys revokes delete (set once, before applying).</summary>
    public void Attach(KvStore store) => _store = store;

    /// <summary>True if the lease exists (the store's check for puts with a lease).</summary>
    public bool Exists(long id)
    {
        lock (_lock)
            return _leases.ContainsKey(id);
    }

    /// <summary>Applies a committed grant.</summary>
    public LeaseGrantResponse ApplyGrant(LeaseGrantRequest request)
    {
        if (request.TTL > MaxTtlSeconds)
            throw new RpcException(StatusCode.OutOfRange, "etcdserver: too large lease TTL");
        if (request.ID <= 0)
            throw new RpcException(StatusCode.InvalidArgument, "etcdserver: lease ID must be positive");
        var ttl = Math.Max(request.TTL, _minTtlSeconds);
        lock (_lock)
        {
            if (_leases.ContainsKey(request.ID))
                throw EtcdErrors.LeaseExists();
            _leases[request.ID] = new Lease(request.ID, ttl) { ExpiresAtTicks = Deadline(ttl) };
        }

        return new LeaseGrantResponse { Header = new ResponseHeader { Revision = Store.Revision }, ID = request.ID, TTL = ttl };
    }

    /// <summary>Applies a committed revoke: every key attached is deleted in one revision.</summary>
    public LeaseRevokeResponse ApplyRevoke(LeaseRevokeRequest request)
    {
        lock (_lock)
        {
            if (!_leases.Remove(request.ID))
                throw EtcdErrors.LeaseNotFound();
        }

        var keys = KeysOf(request.ID);
        if (keys.Count > 0)
        {
            var txn = new TxnRequest();
            foreach (var key in keys)
                txn.Success.Add(new RequestOp { RequestDeleteRange = new DeleteRangeRequest { Key = key } });
            Store.Txn(txn);
        }

        return new LeaseRevokeResponse { Header = new ResponseHeader { Revision = Store.Revision } };
    }

    /// <summary>Restarts a lease's clock (KeepAlive, on the leader); returns its TTL, or 0 if it does not exist (etcd's reply for an unknown lease).</summary>
    public long Renew(long id)
    {
        lock (_lock)
        {
            if (!_leases.TryGetValue(id, out var lease))
                return 0;
            lease.ExpiresAtTicks = Deadline(lease.Ttl);
            return lease.Ttl;
        }
    }

    /// <summary>Restarts every lease's clock (this member just became leader).</summary>
    public void RefreshAll()
    {
        lock (_lock)
        {
            foreach (var lease in _leases.Values)
                lease.ExpiresAtTicks = Deadline(lease.Ttl);
        }
    }

    /// <summary>LeaseTimeToLive: remaining and granted TTL, and the keys if asked; TTL -1 for an unknown lease, as etcd answers.</summary>
    public LeaseTimeToLiveResponse TimeToLive(LeaseTimeToLiveRequest request)
    {
        long remaining, granted;
        lock (_lock)
        {
            if (!_leases.TryGetValue(request.ID, out var lease))
                return new LeaseTimeToLiveResponse { ID = request.ID, TTL = -1 };
            var left = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), lease.ExpiresAtTicks);
            // left = expiry - now; etcd truncates (int64(l.Remaining().Seconds())), so a fresh 60 s lease shows 59.
            remaining = Math.Max(0, (long)left.TotalSeconds);
            granted = lease.Ttl;
        }

        var response = new LeaseTimeToLiveResponse { ID = request.ID, TTL = remaining, GrantedTTL = granted };
        if (request.Keys)
            response.Keys.AddRange(KeysOf(request.ID));
        return response;
    }

    /// <summary>Every lease id, ascending.</summary>
    public LeaseLeasesResponse Leases()
    {
        var response = new LeaseLeasesResponse();
        lock (_lock)
        {
            foreach (var id in _leases.Keys.Order())
                response.Leases.Add(new LeaseStatus { ID = id });
        }

        return response;
    }

    /// <summary>Every lease as (id, granted TTL), ascending by id: the replicated part, for snapshots.</summary>
    public List<(long Id, long Ttl)> Snapshot()
    {
        lock (_lock)
            return _leases.Values.OrderBy(l => l.Id).Select(l => (l.Id, l.Ttl)).ToList();
    }

    /// <summary>Replaces every lease from a snapshot; each clock restarts (a restore never shortens a lease).</summary>
    public void Restore(IEnumerable<(long Id, long Ttl)> leases)
    {
        lock (_lock)
        {
            _leases.Clear();
            foreach (var (id, ttl) in leases)
                _leases[id] = new Lease(id, ttl) { ExpiresAtTicks = Deadline(ttl) };
        }
    }

    /// <summary>Leases whose clock ran out (the leader proposes their revocation). Bounded by <paramref name="max"/>.</summary>
    public List<long> Expired(int max)
    {
        var now = Stopwatch.GetTimestamp();
        var expired = new List<long>();
        lock (_lock)
        {
            foreach (var lease in _leases.Values)
            {
                if (lease.ExpiresAtTicks <= now)
                {
                    expired.Add(lease.Id);
                    if (expired.Count >= max)
                        break;
                }
            }
        }

        return expired;
    }

    private KvStore Store => _store ?? throw new InvalidOperationException("lessor has no store attached");

    private List<ByteString> KeysOf(long id) => Store.KeysWithLease(id);

    private static long Deadline(long ttlSeconds) =>
        Stopwatch.GetTimestamp() + (long)(Math.Min(ttlSeconds, MaxTtlSeconds / 1000) * (double)Stopwatch.Frequency);
}
