namespace Cairn.Protocol;

/// <summary>
/// etcd's client-visible errors with their exact messages and gRPC codes (as in etcd's
/// api/v3rpc/rpctypes). Clients match on these strings, so they must not change.
/// </summary>
public static class EtcdErrors
{
    /// <summary>Range, Watch or Compact at a revision at or below the compaction point.</summary>
    public const string CompactedMessage = "etcdserver: mvcc: required revision has been compacted";

    /// <summary>Range or Compact at a revision after the current one.</summary>
    public const string FutureRevMessage = "etcdserver: mvcc: required revision is a future revision";

    /// <summary>Watch cancelled by the server.</summary>
    public const string WatchCanceledMessage = "etcdserver: watch canceled";

    /// <summary>The member has no leader (WithRequireLeader, or a write with no quorum).</summary>
    public const string NoLeaderMessage = "etcdserver: no leader";

    /// <summary>Range/Watch at a compacted revision.</summary>
    public static RpcException Compacted() => new(StatusCode.OutOfRange, CompactedMessage);

    /// <summary>Range at a future revision.</summary>
    public static RpcException FutureRev() => new(StatusCode.OutOfRange, FutureRevMessage);

    /// <summary>Put with ignore_value or ignore_lease on a key that does not exist.</summary>
    public static RpcException KeyNotFound() => new(StatusCode.InvalidArgument, "etcdserver: key not found");

    /// <summary>A request with an empty key.</summary>
    public static RpcException EmptyKey() => new(StatusCode.InvalidArgument, "etcdserver: key is not provided");

    /// <summary>Put with both a value and ignore_value.</summary>
    public static RpcException ValueProvided() => new(StatusCode.InvalidArgument, "etcdserver: value is provided");

    /// <summary>Put with both a lease and ignore_lease.</summary>
    public static RpcException LeaseProvided() => new(StatusCode.InvalidArgument, "etcdserver: lease is provided");

    /// <summary>A txn with more than the allowed number of compares or ops in one branch.</summary>
    public static RpcException TooManyOps() => new(StatusCode.InvalidArgument, "etcdserver: too many operations in txn request");

    /// <summary>A txn that writes one key twice.</summary>
    public static RpcException DuplicateKey() => new(StatusCode.InvalidArgument, "etcdserver: duplicate key given in txn request");

    /// <summary>A request larger than the member accepts.</summary>
    public static RpcException RequestTooLarge() => new(StatusCode.InvalidArgument, "etcdserver: request is too large");

    /// <summary>The backend quota is exhausted.</summary>
    public static RpcException NoSpace() => new(StatusCode.ResourceExhausted, "etcdserver: mvcc: database space exceeded");

    /// <summary>The member has no leader.</summary>
    public static RpcException NoLeader() => new(StatusCode.Unavailable, NoLeaderMessage);

    /// <summary>A lease named in a request does not exist.</summary>
    public static RpcException LeaseNotFound() => new(StatusCode.NotFound, "etcdserver: requested lease not found");

    /// <summary>A lease id that exists already.</summary>
    public static RpcException LeaseExists() => new(StatusCode.FailedPrecondition, "etcdserver: lease already exists");

    /// <summary>The request timed out inside the server.</summary>
    public static RpcException Timeout() => new(StatusCode.Unavailable, "etcdserver: request timed out");

    /// <summary>The member is shutting down.</summary>
    public static RpcException Stopped() => new(StatusCode.Unavailable, "etcdserver: server stopped");
}
