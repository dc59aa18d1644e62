using Cairn.Protocol;
using Mvccpb;

namespace Cairn.Mvcc;

public sealed partial class KvStore
{
    /// <summary>
    /// Appends to <paramref name="into"/> the events of revisions in
    /// [<paramref name="fromRevision"/>, <paramref name="toRevision"/>], in revision order, stopping at
    /// the first revision boundary after at least <paramref name="maxEvents"/> events (a revision's
    /// events are never split). Returns the first revision NOT read (toRevision + 1 when done).
    /// Throws the compacted error if fromRevision &lt; <see cref="CompactRevision"/>.
    /// DELETE events carry the key with mod_revision = the delete's revision, as etcd's do.
    /// </summary>
    /// <remarks>
    /// A toRevision beyond the current revision is read up to the current one, and the value returned
    /// is then current + 1 (never a revision not yet written). maxEvents ≤ 0 means no limit.
    /// Each call creates new <see cref="Event"/> objects (callers may set prev_kv on them) around the
    /// store's shared KeyValues. Cost: a binary search plus the events read.
    /// </remarks>
    public long ReadEvents(long fromRevision, long toRevision, int maxEvents, List<Event> into)
    {
        ArgumentNullException.ThrowIfNull(into);
        _lock.EnterReadLock();
        try
        {
            if (fromRevision < _compactRevision)
            {
                throw EtcdErrors.Compacted();
            }
            long current = _revision;
            if (toRevision > current)
            {
                toRevision = current;
            }
            if (fromRevision > toRevision)
            {
                return Math.Max(fromRevision, toRevision + 1);
            }
            int read = 0;
            long last = fromRevision - 1;
            for (long i = _log.FirstAtOrAfter(fromRevision); i < _log.Count; i++)
            {
                var v = _log[i];
                if (v.Main > toRevision)
                {
                    break;
                }
                if (maxEvents > 0 && read >= maxEvents && v.Main != last)
                {
                    return v.Main;
                }
                into.Add(ToEvent(v));
                read++;
                last = v.Main;
            }
            return toRevision + 1;
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }
}
