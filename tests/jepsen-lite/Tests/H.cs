using Cairn.JepsenLite.History;

namespace Cairn.JepsenLite.Tests;

/// <summary>Builds fixture histories; time advances 1 ms per record unless set.</summary>
public sealed class H
{
    public readonly List<Op> Ops = [];
    private long _t;

    public H At(long ms) { _t = ms * 1_000_000; return this; }

    private H Add(Op op)
    {
        op.Index = Ops.Count;
        op.TimeNs = _t;
        _t += 1_000_000;
        Ops.Add(op);
        return this;
    }

    public H Inv(int p, string f, string key, string? value = null, string? expected = null) =>
        Add(new Op { Process = p, Type = OpType.Invoke, F = f, Key = key, Value = value, Expected = expected });

    public H Ok(int p, string f, string key, string? value = null, long rev = 0, bool? succ = null, long? mod = null) =>
        Add(new Op { Process = p, Type = OpType.Ok, F = f, Key = key, Value = value, Revision = rev, Succeeded = succ, ModRevision = mod });

    public H Info(int p, string f, string key) => Add(new Op { Process = p, Type = OpType.Info, F = f, Key = key });
    public H Fail(int p, string f, string key) => Add(new Op { Process = p, Type = OpType.Fail, F = f, Key = key });

    public static Ev Put(string k, string v, long rev, long create, long ver, string? prev = null, bool hasPrev = false) =>
        new() { Type = "PUT", Key = k, Value = v, ModRevision = rev, CreateRevision = create, Version = ver, PrevValue = prev, HasPrev = hasPrev };

    public static Ev Del(string k, long rev, string? prev = null, bool hasPrev = false) =>
        new() { Type = "DELETE", Key = k, ModRevision = rev, PrevValue = prev, HasPrev = hasPrev };

    public H Archive(params Ev[] evs) => Add(new Op { Process = -1, Type = OpType.Ok, F = "archive", StartRevision = 1, Events = [.. evs] });
    public H Final(long rev, params Ev[] kvs) => Add(new Op { Process = -1, Type = OpType.Ok, F = "final-state", Revision = rev, Events = [.. kvs] });

    public H WStart(int p, string key, long start, string? rangeEnd = null, bool prevKv = true, bool noPut = false, bool noDelete = false) =>
        Add(new Op { Process = p, Type = OpType.Ok, F = Fn.WatchStart, Key = key, StartRevision = start, RangeEnd = rangeEnd, PrevKv = prevKv, NoPut = noPut ? true : null, NoDelete = noDelete ? true : null, Member = "c1" });

    public H WEv(int p, long hdr, params Ev[] evs) => Add(new Op { Process = p, Type = OpType.Ok, F = Fn.WatchEvent, Revision = hdr, Events = [.. evs] });
    public H WProg(int p, long rev) => Add(new Op { Process = p, Type = OpType.Ok, F = Fn.Progress, Revision = rev });
    /// <summary>A compaction to <paramref name="rev"/> as the nemesis records it (invoke, then the compact result).</summary>
    public H Compact(long rev) =>
        Add(new Op { Process = -2, Type = OpType.Invoke, F = Fn.Nemesis, Key = Fn.Compact }).Add(new Op { Process = -2, Type = OpType.Ok, F = Fn.Compact, Revision = rev });

    /// <summary>A read micro-op of <paramref name="key"/>; <paramref name="list"/> space-separated (null = not yet read).</summary>
    public static Mop R(string key, string? list = null) => new() { F = Mop.R, Key = key, Read = list == null ? null : Mop.Parse(list) };

    /// <summary>An append micro-op: <paramref name="element"/> appended to <paramref name="key"/>, writing <paramref name="written"/>.</summary>
    public static Mop A(string key, string element, string written) => new() { F = Mop.Append, Key = key, Element = element, Written = written };

    public H TxnInv(int p, params Mop[] mops) => Add(new Op { Process = p, Type = OpType.Invoke, F = Fn.Txn, Txn = [.. mops] });
    public H TxnOk(int p, bool succeeded, long rev, params Mop[] mops) =>
        Add(new Op { Process = p, Type = OpType.Ok, F = Fn.Txn, Succeeded = succeeded, Revision = rev, Txn = [.. mops] });
    public H TxnInfo(int p) => Add(new Op { Process = p, Type = OpType.Info, F = Fn.Txn });

    /// <summary>A whole successful append transaction: reads (before its puts) then appends.</summary>
    public H Txn(int p, long rev, Mop[] reads, params Mop[] appends) =>
        TxnInv(p, [.. reads.Select(r => R(r.Key)), .. appends]).TxnOk(p, true, rev, [.. reads, .. appends]);

    /// <summary>A client watcher's watch-start (C# client, endpoints c1..c3 from <paramref name="member"/>); start 0 = from "now".</summary>
    public H CStart(int p, string key, long start, string? rangeEnd = null, bool requireLeader = false, string member = "c1") =>
        Add(new Op
        {
            Process = p, Type = OpType.Ok, F = Fn.WatchStart, Key = key, StartRevision = start, RangeEnd = rangeEnd, PrevKv = true,
            Client = true, RequireLeader = requireLeader, Endpoints = [member, "c2", "c3"], Member = member,
        });

    /// <summary>A client watcher's created notification (header revision <paramref name="rev"/>) from <paramref name="member"/>.</summary>
    public H CCreated(int p, long rev, string member = "c1") => Add(new Op { Process = p, Type = OpType.Ok, F = Fn.WatchCreated, Revision = rev, Member = member });

    /// <summary>A batch of events a client watcher delivered from <paramref name="member"/>'s stream.</summary>
    public H CEv(int p, string member, long hdr, params Ev[] evs) => Add(new Op { Process = p, Type = OpType.Ok, F = Fn.WatchEvent, Revision = hdr, Events = [.. evs], Member = member });

    /// <summary>A progress notification a client watcher delivered from <paramref name="member"/>'s stream.</summary>
    public H CProg(int p, string member, long rev) => Add(new Op { Process = p, Type = OpType.Ok, F = Fn.Progress, Revision = rev, Member = member });

    /// <summary>A client watcher's end: compacted at <paramref name="compact"/> while needing <paramref name="needed"/>, or (null) cancelled.</summary>
    public H CEnd(int p, long? compact = null, long? needed = null) =>
        Add(new Op { Process = p, Type = OpType.Ok, F = Fn.WatchEnd, CompactRevision = compact, Revision = needed, Error = compact != null ? "compacted" : "cancelled" });

    public H WEnd(int p, long? compact = null) => Add(new Op { Process = p, Type = OpType.Ok, F = Fn.WatchEnd, CompactRevision = compact, Error = "test" });
}
