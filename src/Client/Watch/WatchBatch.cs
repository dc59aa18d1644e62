using Mvccpb;

namespace Cairn.Client;

/// <summary>
/// What a watch delivers: the events of one server response (whole revisions, in revision order,
/// each revision once), or a progress notification (no events), or the created notification.
/// </summary>
public sealed class WatchBatch
{
    internal WatchBatch(long headerRevision, IReadOnlyList<Event> events, bool isProgressNotify, bool isCreated, string endpoint)
    {
        HeaderRevision = headerRevision;
        Events = events;
        IsProgressNotify = isProgressNotify;
        IsCreated = isCreated;
        Endpoint = endpoint;
    }

    /// <summary>The store revision of the member when it sent the response; for a progress notification every event ≤ it has been delivered.</summary>
    public long HeaderRevision { get; }

    /// <summary>The events (empty for progress and created notifications).</summary>
    public IReadOnlyList<Event> Events { get; }

    /// <summary>True for a progress notification (see <see cref="WatchOptions.ProgressNotify"/>).</summary>
    public bool IsProgressNotify { get; }

    /// <summary>True for the created notification (see <see cref="WatchOptions.CreatedNotify"/>).</summary>
    public bool IsCreated { get; }

    /// <summary>The endpoint whose stream carried the response.</summary>
    public string Endpoint { get; }
}
