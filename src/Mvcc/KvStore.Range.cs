using System.Runtime.InteropServices;
using Cairn.Protocol;
using Etcdserverpb;
using Mvccpb;

namespace Cairn.Mvcc;

public sealed partial class KvStore
{
    /// <summary>Range over the current or a past revision (RangeRequest.revision &gt; 0).</summary>
    public RangeResponse Range(RangeRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        _lock.EnterReadLock();
        try
        {
            return RangeAt(request, _revision);
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    /// <summary>
    /// etcd's applierV3backend.Range over a view whose current revision is <paramref name="current"/>
    /// (the store's, or a running txn's read revision). Caller holds _lock.
    /// </summary>
    private RangeResponse RangeAt(RangeRequest r, long current)
    {
        long rev = r.Revision;
        if (rev > current)
        {
            throw EtcdErrors.FutureRev();
        }
        if (rev <= 0)
        {
            rev = current;
        }
        // etcd: rev < compactMainRev is compacted; a read AT the compaction revision still works.
        if (rev < _compactRevision)
        {
            throw EtcdErrors.Compacted();
        }

        // The header carries the current revision even for a read of the past (as etcd).
        var response = new RangeResponse { Header = Header(current) };
        var range = new KeyRange(r.Key, r.RangeEnd);
        if (r.CountOnly)
        {
            response.Count = Collect(range, rev, 0, null);
            return response;
        }

        // etcd 3.4 fetches everything only when sort_order is set or a revision filter is; with
        // sort_order NONE and a non-KEY sort_target it sorts just the first limit+1 keys (verified
        // against etcd 3.4.23: keys s3,s2,s1 written in that order, limit 1, target MOD → s2).
        bool filtered = r.MinModRevision != 0 || r.MaxModRevision != 0 || r.MinCreateRevision != 0 || r.MaxCreateRevision != 0;
        bool fetchAll = r.SortOrder != RangeRequest.Types.SortOrder.None || filtered;
        bool sorts = r.SortOrder != RangeRequest.Types.SortOrder.None || r.SortTarget != RangeRequest.Types.SortTarget.Key;
        long take = !fetchAll && r.Limit > 0 ? r.Limit + 1 : -1;
        if (!fetchAll && !sorts && !r.KeysOnly)
        {
            // Fast path: key order is the answer; one more than the limit tells `more`.
            response.Count = Collect(range, rev, take, response.Kvs);
            if (r.Limit > 0 && response.Kvs.Count > r.Limit)
            {
                response.Kvs.RemoveAt(response.Kvs.Count - 1);
                response.More = true;
            }
            return response;
        }

        // Filter, sort, then truncate. `count` stays the number of keys in the range: the
        // revision filters do not change it (as etcd).
        var kvs = new List<KeyValue>();
        response.Count = Collect(range, rev, take, kvs);
        if (filtered)
        {
            kvs.RemoveAll(kv =>
                (r.MaxModRevision != 0 && kv.ModRevision > r.MaxModRevision) ||
                (r.MinModRevision != 0 && kv.ModRevision < r.MinModRevision) ||
                (r.MaxCreateRevision != 0 && kv.CreateRevision > r.MaxCreateRevision) ||
                (r.MinCreateRevision != 0 && kv.CreateRevision < r.MinCreateRevision));
        }
        Sort(kvs, r.SortOrder, r.SortTarget);
        AddResults(response, kvs, r);
        return response;
    }

    /// <summary>Applies limit (setting `more`) and keys_only, and fills the response.</summary>
    private static void AddResults(RangeResponse response, List<KeyValue> kvs, RangeRequest r)
    {
        int n = kvs.Count;
        if (r.Limit > 0 && n > r.Limit)
        {
            n = (int)r.Limit;
            response.More = true;
        }
        for (int i = 0; i < n; i++)
        {
            var kv = kvs[i];
            response.Kvs.Add(r.KeysOnly ? WithoutValue(kv) : kv);
        }
    }

    private static KeyValue WithoutValue(KeyValue kv) => new()
    {
        Key = kv.Key,
        CreateRevision = kv.CreateRevision,
        ModRevision = kv.ModRevision,
        Version = kv.Version,
        Lease = kv.Lease,
    };

    /// <summary>
    /// etcd's sort (applierV3backend.Range): order NONE with a target other than KEY means ascending;
    /// the sort is Go's unstable sort.Sort (sort.Reverse for DESCEND), reproduced by <see cref="GoSort"/>
    /// so that ties come out in etcd's order too (key order up to 12 results, pdqsort's beyond).
    /// </summary>
    private static void Sort(List<KeyValue> kvs, RangeRequest.Types.SortOrder order, RangeRequest.Types.SortTarget target)
    {
        if (target != RangeRequest.Types.SortTarget.Key && order == RangeRequest.Types.SortOrder.None)
        {
            order = RangeRequest.Types.SortOrder.Ascend;
        }
        if (order == RangeRequest.Types.SortOrder.None || kvs.Count < 2)
        {
            return;
        }
        bool descend = order == RangeRequest.Types.SortOrder.Descend;
        if (target == RangeRequest.Types.SortTarget.Key)
        {
            // Keys are unique and arrive ascending: with no ties, every correct sort gives this.
            if (descend)
            {
                kvs.Reverse();
            }
            return;
        }
        GoSort.Sort(CollectionsMarshal.AsSpan(kvs), new RangeSortComparer(target, descend));
    }

    /// <summary>
    /// Visits the live values of <paramref name="range"/> at <paramref name="rev"/> in key order,
    /// adds the first <paramref name="take"/> (all if negative) to <paramref name="into"/> and returns
    /// how many there are in all. Caller holds _lock.
    /// </summary>
    private long Collect(in KeyRange range, long rev, long take, IList<KeyValue>? into)
    {
        if (range.IsSingle)
        {
            var kv = _keys.Get(range.Key)?.ValueAt(rev);
            if (kv is null)
            {
                return 0;
            }
            if (into is not null && take != 0)
            {
                into.Add(kv);
            }
            return 1;
        }
        long count = 0;
        for (var c = _keys.Seek(range.Key); c.Valid; c.Next())
        {
            var index = c.Current;
            if (!range.BeforeEnd(index.Key.Span))
            {
                break;
            }
            var kv = index.ValueAt(rev);
            if (kv is null)
            {
                continue;
            }
            if (into is not null && (take < 0 || count < take))
            {
                into.Add(kv);
            }
            count++;
        }
        return count;
    }
}
