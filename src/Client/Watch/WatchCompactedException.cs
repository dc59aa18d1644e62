using Cairn.Protocol;

namespace Cairn.Client;

/// <summary>
/// A watch ended because the history it still needed was compacted away: the events from
/// <see cref="RequiredRevision"/> up to <see cref="CompactRevision"/> can no longer be delivered.
/// Terminal: restart from a fresh read (e.g. Get at <see cref="CompactRevision"/> or later) and
/// watch from that read's revision + 1.
/// </summary>
public sealed class WatchCompactedException : EtcdException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="compactRevision">The server's compaction revision.</param>
    /// <param name="requiredRevision">The revision the watch needed next.</param>
    /// <param name="endpoint">The endpoint that reported it.</param>
    public WatchCompactedException(long compactRevision, long requiredRevision, string? endpoint = null)
        : base(StatusCode.OutOfRange, EtcdErrors.CompactedMessage, endpoint)
    {
        CompactRevision = compactRevision;
        RequiredRevision = requiredRevision;
    }

    /// <summary>The compaction revision the server reported (the oldest revision still watchable).</summary>
    public long CompactRevision { get; }

    /// <summary>The revision the watch was resuming from (0 when it was created at "now").</summary>
    public long RequiredRevision { get; }

    /// <inheritdoc />
    public override string ToString() =>
        $"{Status}: {Message} (compact revision {CompactRevision}, watch needed {RequiredRevision}{(Endpoint == null ? "" : ", " + Endpoint)})";
}
