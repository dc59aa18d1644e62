using Cairn.Mvcc;
using Etcdserverpb;
using Google.Protobuf;

namespace Cairn.Watch.Tests.Infra;

/// <summary>
/// A store for watch tests: the real <see cref="KvStore"/> (with the model as oracle, cross-checked
/// on every write) when it is implemented, otherwise the model itself as the event source.
/// </summary>
public sealed class TestStore : IDisposable
{
    private static readonly Lazy<bool> s_realAvailable = new(() =>
    {
        try
        {
            var kv = new KvStore();
            kv.Put(new PutRequest { Key = ByteString.CopyFromUtf8("probe"), Value = ByteString.CopyFromUtf8("v") });
            var evs = new List<Mvccpb.Event>();
            kv.ReadEvents(1, kv.Revision, 10, evs);
            return evs.Count == 1;
        }
        catch (NotImplementedException)
        {
            return false;
        }
    });

    /// <summary>True once the real KvStore works (tests then run against it).</summary>
    public static bool RealAvailable => s_realAvailable.Value;

    private TestStore(bool real, WatchableStoreOptions? options)
    {
        if (real)
        {
            Kv = new KvStore();
            Watchable = new WatchableStore(Kv, options);
        }
        else
        {
            Watchable = new WatchableStore(Model, options);
            Model.Observer = Watchable;
        }
    }

    public static TestStore Create(WatchableStoreOptions? options = null, bool? real = null) =>
        new(real ?? RealAvailable, options);

    public Model Model { get; } = new();
    public KvStore? Kv { get; }
    public WatchableStore Watchable { get; }
    public bool IsReal => Kv is not null;
    public long Revision => Kv?.Revision ?? Model.Revision;

    public long Put(string key, string value) => Write(Op.Put(key, value));
    public long Delete(string key, string? end = null) => Write(Op.Del(key, end));

    /// <summary>One transaction (a single op is sent as Put / DeleteRange, several as a Txn).</summary>
    public long Write(params Op[] ops)
    {
        if (Kv is null) return Model.Write(ops);
        ApplyTo(Kv, ops);
        long expected = Model.Write(ops);
        if (Kv.Revision != expected) throw new InvalidOperationException($"store revision {Kv.Revision} != model revision {expected}");
        return expected;
    }

    /// <summary>Applies ops to any KvStore as one transaction (a single op as Put / DeleteRange).</summary>
    public static void ApplyTo(KvStore kv, Op[] ops)
    {
        if (ops.Length == 1 && ops[0].IsPut) kv.Put(ToPut(ops[0]));
        else if (ops.Length == 1) kv.DeleteRange(ToDel(ops[0]));
        else
        {
            var txn = new TxnRequest();
            foreach (var op in ops)
                txn.Success.Add(op.IsPut ? new RequestOp { RequestPut = ToPut(op) } : new RequestOp { RequestDeleteRange = ToDel(op) });
            kv.Txn(txn);
        }
    }

    public void Compact(long rev)
    {
        Kv?.Compact(new CompactionRequest { Revision = rev });
        Model.Compact(rev);
    }

    private static PutRequest ToPut(Op op) => new() { Key = ByteString.CopyFromUtf8(op.Key), Value = ByteString.CopyFromUtf8(op.Value!) };

    private static DeleteRangeRequest ToDel(Op op) => new()
    {
        Key = ByteString.CopyFromUtf8(op.Key),
        RangeEnd = op.End is null ? ByteString.Empty : ByteString.CopyFromUtf8(op.End),
    };

    public void Dispose() => Watchable.Dispose();
}
