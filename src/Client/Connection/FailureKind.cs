namespace Cairn.Client;

/// <summary>What a failed attempt proves about the request, which decides whether it may be retried.</summary>
internal enum FailureKind
{
    /// <summary>The request provably never reached a server (connect refused, DNS, TLS handshake, REFUSED_STREAM): retry anything.</summary>
    NotSent,

    /// <summary>The endpoint is unusable (connection broke, no leader, stopping, silent); the request may have been applied.</summary>
    EndpointFailed,

    /// <summary>The server answered with an error about the request itself (or the deadline passed): never retry.</summary>
    Final,
}
