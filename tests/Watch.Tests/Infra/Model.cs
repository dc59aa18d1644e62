using Cairn.Mvcc;
using Cairn.Protocol;
using Google.Protobuf;
using Mvccpb;

namespace Cairn.Watch.Tests.Infra;

/// <summary>One write operation of the test model.</summary>
public sealed record Op(bool IsPut, string Key, string? Value = null, string? End = null)
{
    public static Op Put(string key, string value) => new(true, key, value);
    public static Op Del(string key, string? end = null) => new(false, key, null, end);
}

/// <summary>
/// A tiny, obviously-correct MVCC model (ASCII keys): used as the fake store in unit tests and as the
/// oracle of expected events / previous values when the real KvStore is used.
/// </summary>
public sealed class Model : IEventSource
{
    private readonly Lock _lock = new();
    private readonly List<Event[]> _history = new(); // index i holds revision i + 2
    private readonly SortedDictionary<string, KeyValue> _live = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<Event>> _perKey = new();
    private long _rev = 1;
    private long _compact;

    public IWriteObserver? Observer { get; set; }

    public long Revision => Interlocked.Read(ref _rev);
    public long CompactRevision => Interlocked.Read(ref _compact);

    public long Put(string key, string value) => Write(Op.Put(key, value));
    public long Delete(string key, string? end = null) => Write(Op.Del(key, end));

    /// <summary>Applies ops as one transaction; returns the new revision (unchanged if nothing changed).</summary>
    public long Write(params Op[] ops)
    {
        lock (_lock)
        {
            long rev = _rev + 1;
            var list = new List<Event>();
            foreach (var op in ops)
            {
                if (op.IsPut)
                {
                    _live.TryGetValue(op.Key, out var old);
                    var kv = new KeyValue
                    {
                        Key = ByteString.CopyFromUtf8(op.Key),
                        Value = ByteString.CopyFromUtf8(op.Value!),
                        CreateRevision = old?.CreateRevision ?? rev,
                        ModRevision = rev,
                        Version = (old?.Version ?? 0) + 1,
                    };
                    _live[op.Key] = kv;
                    list.Add(new Event { Type = Event.Types.EventType.Put, Kv = kv });
                }
                else
                {
                    var doomed = new List<string>();
                    foreach (var k in _live.Keys)
                        if (InRange(k, op.Key, op.End)) doomed.Add(k);
                    foreach (var k in doomed)
                    {
                        _live.Remove(k);
                        list.Add(new Event { Type = Event.Types.EventType.Delete, Kv = new KeyValue { Key = ByteString.CopyFromUtf8(k), ModRevision = rev } });
                    }
                }
            }
            if (list.Count == 0) return _rev;
            var arr = list.ToArray();
            _history.Add(arr);
            foreach (var ev in arr)
            {
                var k = ev.Kv.Key.ToStringUtf8();
                if (!_perKey.TryGetValue(k, out var l)) _perKey[k] = l = new List<Event>();
                l.Add(ev);
            }
            Interlocked.Exchange(ref _rev, rev);
            Observer?.OnWrite(rev, arr);
            return rev;
        }
    }

    public void Compact(long rev)
    {
        lock (_lock)
        {
            Interlocked.Exchange(ref _compact, rev);
            Observer?.OnCompact(rev);
        }
    }

    /// <summary>Single key (end null), prefix-free range [key, end), or end "\0" = every key &gt;= key.</summary>
    public static bool InRange(string k, string key, string? end)
    {
        if (end is null) return k == key;
        if (string.CompareOrdinal(k, key) < 0) return false;
        return end == "\0" || string.CompareOrdinal(k, end) < 0;
    }

    public long ReadEvents(long fromRevision, long toRevision, int maxEvents, List<Event> into)
    {
        lock (_lock)
        {
            if (fromRevision < _compact) throw EtcdErrors.Compacted();
            int n = 0;
            long r = Math.Max(fromRevision, 2);
            for (; r <= toRevision && r - 2 < _history.Count; r++)
            {
                var evs = _history[(int)(r - 2)];
                into.AddRange(evs);
                n += evs.Length;
                if (n >= maxEvents) return r + 1;
            }
            return toRevision + 1;
        }
    }

    public KeyValue? Get(ReadOnlySpan<byte> key, long revision)
    {
        var k = System.Text.Encoding.UTF8.GetString(key);
        lock (_lock)
        {
            if (revision < _compact) return null;
            return ValueAt(k, revision);
        }
    }

    private KeyValue? ValueAt(string k, long revision)
    {
        if (!_perKey.TryGetValue(k, out var l)) return null;
        for (int i = l.Count - 1; i >= 0; i--)
        {
            if (l[i].Kv.ModRevision > revision) continue;
            return l[i].Type == Event.Types.EventType.Put ? l[i].Kv : null;
        }
        return null;
    }

    /// <summary>The oracle: expected prev_kv of an event (ignoring compaction).</summary>
    public KeyValue? ExpectedPrev(Event ev)
    {
        lock (_lock) return ValueAt(ev.Kv.Key.ToStringUtf8(), ev.Kv.ModRevision - 1);
    }

    /// <summary>Every event from <paramref name="fromRev"/> on that a watch on [key, end) with the filters must deliver.</summary>
    public List<Event> Expected(long fromRev, string key, string? end, bool noPut = false, bool noDelete = false, long toRev = long.MaxValue)
    {
        var res = new List<Event>();
        lock (_lock)
        {
            foreach (var evs in _history)
            foreach (var ev in evs)
            {
                if (ev.Kv.ModRevision < fromRev || ev.Kv.ModRevision > toRev) continue;
                if (!InRange(ev.Kv.Key.ToStringUtf8(), key, end)) continue;
                if (noPut && ev.Type == Event.Types.EventType.Put) continue;
                if (noDelete && ev.Type == Event.Types.EventType.Delete) continue;
                res.Add(ev);
            }
        }
        return res;
    }
}
