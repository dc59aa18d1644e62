namespace Cairn.Protocol;

/// <summary>gRPC status codes (the numbers are the wire values of <c>grpc-status</c>).</summary>
public enum StatusCode
{
    /// <summary>Success.</summary>
    OK = 0,
    /// <summary>The call was cancelled, usually by the caller.</summary>
    Cancelled = 1,
    /// <summary>An error with no better code.</summary>
    Unknown = 2,
    /// <summary>The request is malformed or breaks a rule of the API.</summary>
    InvalidArgument = 3,
    /// <summary>The deadline (<c>grpc-timeout</c>) passed before the call completed.</summary>
    DeadlineExceeded = 4,
    /// <summary>A named entity does not exist.</summary>
    NotFound = 5,
    /// <summary>The entity to create exists already.</summary>
    AlreadyExists = 6,
    /// <summary>The caller may not do this.</summary>
    PermissionDenied = 7,
    /// <summary>A quota or limit is exhausted.</summary>
    ResourceExhausted = 8,
    /// <summary>The system is not in the state the call needs.</summary>
    FailedPrecondition = 9,
    /// <summary>Aborted, typically by a concurrency conflict.</summary>
    Aborted = 10,
    /// <summary>Outside the valid range (etcd: compacted or future revisions).</summary>
    OutOfRange = 11,
    /// <summary>The method is not implemented.</summary>
    Unimplemented = 12,
    /// <summary>An invariant of the server broke.</summary>
    Internal = 13,
    /// <summary>Try again, maybe elsewhere (etcd: no leader, stopping).</summary>
    Unavailable = 14,
    /// <summary>Unrecoverable data loss.</summary>
    DataLoss = 15,
    /// <summary>No valid credentials.</summary>
    Unauthenticated = 16,
}
