namespace Cairn.Client;

/// <summary>
/// A lease on the shared keep-alive stream (see <see cref="LeaseKeepAliveHub"/>): who waits for its
/// answers and when it is next due. Guarded by the hub's lock.
/// </summary>
internal sealed class KeptLease
{
    public KeptLease(long id, DateTime deadline)
    {
        Id = id;
        Deadline = deadline;
        NextSend = DateTime.MinValue;
    }

    public long Id { get; }

    /// <summary>The enumerations keeping it alive; the lease leaves the stream when the last one goes.</summary>
    public List<KeepAliveConsumer> Consumers { get; } = new();

    /// <summary>When the next keep-alive is due (UTC).</summary>
    public DateTime NextSend { get; set; }

    /// <summary>When the unanswered keep-alive was sent (UTC), or null when none is in flight.</summary>
    public DateTime? SentAt { get; set; }

    /// <summary>
    /// Until when an answer may still help (UTC): the first one within the call timeout, later ones
    /// while the lease would still be alive by its last reported TTL. Past it the keep-alive ends.
    /// </summary>
    public DateTime Deadline { get; set; }

    /// <summary>The last stream failure since the last answer (what a keep-alive that runs out of time reports).</summary>
    public EtcdException? LastError { get; set; }
}
