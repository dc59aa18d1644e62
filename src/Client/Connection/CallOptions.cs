namespace Cairn.Client;

/// <summary>Per-call settings of a unary call.</summary>
public sealed record CallOptions
{
    /// <summary>The call's deadline measured from the start of the call, or null for <see cref="EtcdClientOptions.CallTimeout"/>.</summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>
    /// Send <c>hasleader: true</c>: a member without a leader answers at once with
    /// Unavailable "etcdserver: no leader" instead of serving (possibly stale) data or waiting.
    /// </summary>
    public bool RequireLeader { get; init; }
}
