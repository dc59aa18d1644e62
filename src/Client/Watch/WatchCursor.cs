using Mvccpb;

namespace Cairn.Client;

/// <summary>
/// Where one watch stands in the key set's history, and the exactly-once filter on resume.
/// <para>Example: a watch created at revision 0 on a member at revision 40 starts at 41
/// (created header 40). It delivers 41 and 43, then its member dies. The new stream is created
/// with start_revision 44; if the new member replays 43 again (or anything older), it is dropped
/// because 43 ≤ <see cref="DeliveredThrough"/>. A progress notification at 50 moves the resume
/// point to 51 and drops any later event ≤ 50 (the server promised none is pending).</para>
/// Revisions are atomic on the wire (one response carries all events of a revision; fragments
/// are reassembled before they get here), so comparing revisions is enough to deduplicate.
/// </summary>
internal sealed class WatchCursor
{
    public WatchCursor(long startRevision)
    {
        NextRevision = startRevision;
        DeliveredThrough = startRevision > 0 ? startRevision - 1 : 0;
    }

    /// <summary>The start_revision to (re)create the watch with; 0 until a watch created "from now" is established.</summary>
    public long NextRevision { get; private set; }

    /// <summary>Every event of the key set at or below this revision has been delivered (or proven absent by a progress notification).</summary>
    public long DeliveredThrough { get; private set; }

    /// <summary>Events dropped as already delivered (resume overlap); for diagnostics and tests.</summary>
    public long Duplicates { get; private set; }

    /// <summary>
    /// The server created the watch. A watch asked "from now" starts right after the created
    /// response's header revision, so that is where it must resume (etcd's clientv3 does the same).
    /// </summary>
    public void OnCreated(long headerRevision)
    {
        if (NextRevision == 0)
        {
            NextRevision = headerRevision + 1;
        }
    }

    /// <summary>Returns the events not delivered before, in order, and advances the cursor past them.</summary>
    public List<Event> Accept(IEnumerable<Event> events)
    {
        var fresh = new List<Event>();
        var floor = DeliveredThrough;
        var last = floor;
        foreach (var e in events)
        {
            var revision = e.Kv?.ModRevision ?? 0;
            // Older than what was delivered (resume overlap), or going backwards inside a batch (a server bug): never re-deliver.
            if (revision <= floor || revision < last)
            {
                Duplicates++;
                continue;
            }
            fresh.Add(e);
            last = revision;
        }
        if (last > DeliveredThrough)
        {
            DeliveredThrough = last;
            NextRevision = Math.Max(NextRevision, last + 1);
        }
        return fresh;
    }

    /// <summary>
    /// A progress notification at <paramref name="revision"/>: nothing ≤ it is pending. Returns
    /// true when it moves the cursor (a notification older than what was delivered says nothing new).
    /// </summary>
    public bool OnProgress(long revision)
    {
        if (revision < DeliveredThrough || revision + 1 < NextRevision)
        {
            return false;
        }
        DeliveredThrough = revision;
        NextRevision = revision + 1;
        return true;
    }
}
