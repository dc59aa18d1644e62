using System.Text;
using Cairn.Protocol;
using Etcdserverpb;
using Google.Protobuf;
using Mvccpb;

namespace Cairn.Mvcc.Tests;

/// <summary>
/// A deliberately naive model of etcd 3.4's store: the full key → KeyValue map of every revision,
/// and the events of every revision. Keys are Latin-1 strings so that ordinal string order is
/// byte order. Written from etcd's semantics, independently of KvStore's data structures.
/// </summary>
internal sealed class ReferenceModel
{
    public readonly List<SortedDictionary<string, KeyValue>> States = [new(StringComparer.Ordinal), new(StringComparer.Ordinal)];
    public readonly List<List<Event>> Events = [[], []];
    public long CompactRev = -1;
    public Func<long, bool> LeaseExists = _ => true;

    public long Current => States.Count - 1;

    public static string S(ByteString b) => Encoding.Latin1.GetString(b.Span);
    public static ByteString B(string s) => ByteString.CopyFrom(Encoding.Latin1.GetBytes(s));

    private static bool InRange(string k, ByteString key, ByteString end)
    {
        string ks = S(key);
        if (end.IsEmpty) return k == ks;
        if (end.Length == 1 && end[0] == 0) return string.CompareOrdinal(k, ks) >= 0;
        return string.CompareOrdinal(k, ks) >= 0 && string.CompareOrdinal(k, S(end)) < 0;
    }

    private static List<KeyValue> InRangeOf(SortedDictionary<string, KeyValue> map, ByteString key, ByteString end)
    {
        var list = new List<KeyValue>();
        foreach (var (k, v) in map) if (InRange(k, key, end)) list.Add(v);
        return list;
    }

    public RangeResponse Range(RangeRequest r) => Range(r, States[^1], Current);

    private RangeResponse Range(RangeRequest r, SortedDictionary<string, KeyValue> working, long current)
    {
        long rev = r.Revision;
        if (rev > current) throw EtcdErrors.FutureRev();
        if (rev <= 0) rev = current;
        if (rev < CompactRev) throw EtcdErrors.Compacted();
        var map = rev == current ? working : States[(int)rev];
        var all = InRangeOf(map, r.Key, r.RangeEnd);
        var resp = new RangeResponse { Header = new ResponseHeader { Revision = current }, Count = all.Count };
        if (r.CountOnly) return resp;
        bool filtered = r.MinModRevision != 0 || r.MaxModRevision != 0 || r.MinCreateRevision != 0 || r.MaxCreateRevision != 0;
        bool fetchAll = r.SortOrder != RangeRequest.Types.SortOrder.None || filtered;
        if (!fetchAll && r.Limit > 0 && all.Count > r.Limit + 1) all = all.GetRange(0, (int)r.Limit + 1);
        all = all.Where(kv => !(r.MaxModRevision != 0 && kv.ModRevision > r.MaxModRevision)
            && !(r.MinModRevision != 0 && kv.ModRevision < r.MinModRevision)
            && !(r.MaxCreateRevision != 0 && kv.CreateRevision > r.MaxCreateRevision)
            && !(r.MinCreateRevision != 0 && kv.CreateRevision < r.MinCreateRevision)).ToList();
        var order = r.SortOrder;
        if (r.SortTarget != RangeRequest.Types.SortTarget.Key && order == RangeRequest.Types.SortOrder.None) order = RangeRequest.Types.SortOrder.Ascend;
        if (order != RangeRequest.Types.SortOrder.None)
        {
            Func<KeyValue, KeyValue, int> cmp = r.SortTarget switch
            {
                RangeRequest.Types.SortTarget.Key => (a, b) => string.CompareOrdinal(S(a.Key), S(b.Key)),
                RangeRequest.Types.SortTarget.Version => (a, b) => a.Version.CompareTo(b.Version),
                RangeRequest.Types.SortTarget.Create => (a, b) => a.CreateRevision.CompareTo(b.CreateRevision),
                RangeRequest.Types.SortTarget.Mod => (a, b) => a.ModRevision.CompareTo(b.ModRevision),
                _ => (a, b) => string.CompareOrdinal(S(a.Value), S(b.Value)),
            };
            int sign = order == RangeRequest.Types.SortOrder.Descend ? -1 : 1;
            // etcd's Go sort.Sort, so that ties come out in its order (checked against etcd in GoSortTests).
            var sorted = all.ToArray();
            GoSort.Sort(sorted.AsSpan(), Comparer<KeyValue>.Create((a, b) => sign * cmp(a, b)));
            all = [.. sorted];
        }
        if (r.Limit > 0 && all.Count > r.Limit) { all = all.GetRange(0, (int)r.Limit); resp.More = true; }
        foreach (var kv in all)
        {
            var c = kv.Clone();
            if (r.KeysOnly) c.Value = ByteString.Empty;
            resp.Kvs.Add(c);
        }
        return resp;
    }

    private sealed class Tx
    {
        public required SortedDictionary<string, KeyValue> Map;
        public long Rev;
        public List<Event> Events = [];
        public long ReadRev(long begin) => Events.Count > 0 ? begin + 1 : begin;
    }

    private void Commit(Tx tx)
    {
        if (tx.Events.Count == 0) return;
        States.Add(tx.Map);
        Events.Add(tx.Events);
    }

    private Tx Begin() => new() { Map = new SortedDictionary<string, KeyValue>(States[^1], StringComparer.Ordinal), Rev = Current + 1 };

    public PutResponse Put(PutRequest p)
    {
        if (p.Lease != 0 && !LeaseExists(p.Lease)) throw EtcdErrors.LeaseNotFound();
        var tx = Begin();
        var resp = DoPut(tx, p);
        Commit(tx);
        return resp;
    }

    private PutResponse DoPut(Tx tx, PutRequest p)
    {
        string k = S(p.Key);
        tx.Map.TryGetValue(k, out var prev);
        if ((p.IgnoreValue || p.IgnoreLease) && prev is null) throw EtcdErrors.KeyNotFound();
        var resp = new PutResponse { Header = new ResponseHeader { Revision = tx.Rev } };
        if (p.PrevKv && prev is not null) resp.PrevKv = prev.Clone();
        var kv = new KeyValue
        {
            Key = p.Key,
            Value = p.IgnoreValue ? prev!.Value : p.Value,
            Lease = p.IgnoreLease ? prev!.Lease : p.Lease,
            ModRevision = tx.Rev,
            CreateRevision = prev?.CreateRevision ?? tx.Rev,
            Version = (prev?.Version ?? 0) + 1,
        };
        tx.Map[k] = kv;
        tx.Events.Add(new Event { Type = Event.Types.EventType.Put, Kv = kv });
        return resp;
    }

    public DeleteRangeResponse DeleteRange(DeleteRangeRequest d)
    {
        var tx = Begin();
        var resp = DoDelete(tx, d);
        Commit(tx);
        return resp;
    }

    private DeleteRangeResponse DoDelete(Tx tx, DeleteRangeRequest d)
    {
        var victims = InRangeOf(tx.Map, d.Key, d.RangeEnd);
        var resp = new DeleteRangeResponse { Deleted = victims.Count };
        foreach (var kv in victims)
        {
            if (d.PrevKv) resp.PrevKvs.Add(kv.Clone());
            tx.Map.Remove(S(kv.Key));
            tx.Events.Add(new Event { Type = Event.Types.EventType.Delete, Kv = new KeyValue { Key = kv.Key, ModRevision = tx.Rev } });
        }
        resp.Header = new ResponseHeader { Revision = tx.ReadRev(tx.Rev - 1) };
        return resp;
    }

    public TxnResponse Txn(TxnRequest t)
    {
        var pre = States[^1];
        // check the chosen branches against the pre-txn state first (puts, then ranges)
        CheckPuts(t, pre);
        CheckRanges(t, pre);
        var tx = Begin();
        var resp = DoTxn(tx, t, pre);
        resp.Header = new ResponseHeader { Revision = tx.ReadRev(tx.Rev - 1) };
        Commit(tx);
        return resp;
    }

    private bool Compares(TxnRequest t, SortedDictionary<string, KeyValue> pre) => t.Compare.All(c => Compare(c, pre));

    private void CheckPuts(TxnRequest t, SortedDictionary<string, KeyValue> pre)
    {
        foreach (var op in Compares(t, pre) ? t.Success : t.Failure)
        {
            if (op.RequestTxn is { } nested) CheckPuts(nested, pre);
            if (op.RequestPut is { } p)
            {
                if ((p.IgnoreValue || p.IgnoreLease) && !pre.ContainsKey(S(p.Key))) throw EtcdErrors.KeyNotFound();
                if (p.Lease != 0 && !LeaseExists(p.Lease)) throw EtcdErrors.LeaseNotFound();
            }
        }
    }

    private void CheckRanges(TxnRequest t, SortedDictionary<string, KeyValue> pre)
    {
        foreach (var op in Compares(t, pre) ? t.Success : t.Failure)
        {
            if (op.RequestTxn is { } nested) CheckRanges(nested, pre);
            if (op.RequestRange is { } r)
            {
                if (r.Revision > Current) throw EtcdErrors.FutureRev();
                if (r.Revision != 0 && r.Revision < CompactRev) throw EtcdErrors.Compacted();
            }
        }
    }

    private TxnResponse DoTxn(Tx tx, TxnRequest t, SortedDictionary<string, KeyValue> pre)
    {
        bool ok = Compares(t, pre);
        var resp = new TxnResponse { Succeeded = ok, Header = new ResponseHeader() };
        foreach (var op in ok ? t.Success : t.Failure)
        {
            var r = new ResponseOp();
            if (op.RequestRange is { } rr) r.ResponseRange = Range(rr, tx.Map, tx.ReadRev(tx.Rev - 1));
            else if (op.RequestPut is { } p) r.ResponsePut = DoPut(tx, p);
            else if (op.RequestDeleteRange is { } d) r.ResponseDeleteRange = DoDelete(tx, d);
            else if (op.RequestTxn is { } n) r.ResponseTxn = DoTxn(tx, n, pre);
            resp.Responses.Add(r);
        }
        return resp;
    }

    private static bool Compare(Compare c, SortedDictionary<string, KeyValue> map)
    {
        var kvs = InRangeOf(map, c.Key, c.RangeEnd);
        if (kvs.Count == 0)
        {
            if (c.Target == Etcdserverpb.Compare.Types.CompareTarget.Value) return false;
            kvs.Add(new KeyValue());
        }
        foreach (var kv in kvs)
        {
            int res = c.Target switch
            {
                Etcdserverpb.Compare.Types.CompareTarget.Version => kv.Version.CompareTo(c.Version),
                Etcdserverpb.Compare.Types.CompareTarget.Create => kv.CreateRevision.CompareTo(c.CreateRevision),
                Etcdserverpb.Compare.Types.CompareTarget.Mod => kv.ModRevision.CompareTo(c.ModRevision),
                Etcdserverpb.Compare.Types.CompareTarget.Lease => kv.Lease.CompareTo(c.Lease),
                _ => Math.Sign(string.CompareOrdinal(S(kv.Value), S(c.Value))),
            };
            bool pass = c.Result switch
            {
                Etcdserverpb.Compare.Types.CompareResult.Equal => res == 0,
                Etcdserverpb.Compare.Types.CompareResult.NotEqual => res != 0,
                Etcdserverpb.Compare.Types.CompareResult.Greater => res > 0,
                _ => res < 0,
            };
            if (!pass) return false;
        }
        return true;
    }

    public CompactionResponse Compact(long rev)
    {
        if (rev <= CompactRev) throw EtcdErrors.Compacted();
        if (rev > Current) throw EtcdErrors.FutureRev();
        CompactRev = rev;
        return new CompactionResponse { Header = new ResponseHeader { Revision = Current } };
    }

    /// <summary>Events of revisions [from, current]; at the compaction revision only the puts that survived.</summary>
    public List<Event> EventsFrom(long from)
    {
        if (from < CompactRev) throw EtcdErrors.Compacted();
        var list = new List<Event>();
        for (long r = Math.Max(from, 1); r <= Current; r++)
        {
            foreach (var e in Events[(int)r])
            {
                if (r == CompactRev && (e.Type == Event.Types.EventType.Delete
                    || !States[(int)r].TryGetValue(S(e.Kv.Key), out var live) || !ReferenceEquals(live, e.Kv))) continue;
                list.Add(e);
            }
        }
        return list;
    }
}
