using System.Text.Json;
using System.Text.Json.Serialization;

namespace Cairn.JepsenLite.History;

/// <summary>One watch event as delivered (or as committed, in the archive).</summary>
public sealed class Ev
{
    /// <summary>PUT or DELETE.</summary>
    public string Type { get; set; } = "PUT";
    public string Key { get; set; } = "";
    /// <summary>Value after the event (null for DELETE).</summary>
    public string? Value { get; set; }
    public long ModRevision { get; set; }
    public long CreateRevision { get; set; }
    public long Version { get; set; }
    /// <summary>prev_kv value, when the watcher asked for prev_kv; null when the key did not exist before.</summary>
    public string? PrevValue { get; set; }
    /// <summary>True when a prev_kv was delivered.</summary>
    public bool HasPrev { get; set; }

    public override string ToString() => $"{Type} {Key}={Value}@{ModRevision}(c{CreateRevision},v{Version},prev={(HasPrev ? PrevValue : "-")})";
}

/// <summary>
/// One record of a history. An operation is an invoke record followed (same process) by ok, fail or info.
/// Watch records (watch-start, watch-event, progress, watch-end) are single ok records of a watcher process.
/// </summary>
public sealed class Op
{
    /// <summary>Position in the history (assigned by the recorder).</summary>
    public long Index { get; set; }
    /// <summary>Client or watcher id; a process runs one operation at a time.</summary>
    public int Process { get; set; }
    /// <summary>invoke | ok | fail (definitely had no effect) | info (outcome unknown).</summary>
    public string Type { get; set; } = OpType.Invoke;
    /// <summary>read | write | cas | txn | watch-start | watch-created | watch-event | progress | watch-end | client-log | compact | ….</summary>
    public string F { get; set; } = "";
    public string? Key { get; set; }
    /// <summary>read: the value read (null = absent); write: the value written (null = delete); cas: new value.</summary>
    public string? Value { get; set; }
    /// <summary>cas: the value compared against.</summary>
    public string? Expected { get; set; }
    /// <summary>cas: whether the compare held (only on ok).</summary>
    public bool? Succeeded { get; set; }
    /// <summary>
    /// Response header revision (ok), or the compaction revision (compact); watch-created: the created response's
    /// header revision; watch-end of a client watcher ended by compaction: the revision the client needed next.
    /// </summary>
    public long? Revision { get; set; }
    /// <summary>read: mod_revision of the value read.</summary>
    public long? ModRevision { get; set; }
    /// <summary>Monotonic time, ns since the start of the run.</summary>
    public long TimeNs { get; set; }
    /// <summary>Member the client talks to.</summary>
    public string? Member { get; set; }
    /// <summary>watch-start: the requested start revision.</summary>
    public long? StartRevision { get; set; }
    /// <summary>watch-start: key range end ("" single key; "\0" all from Key) and filters.</summary>
    public string? RangeEnd { get; set; }
    public bool? NoPut { get; set; }
    public bool? NoDelete { get; set; }
    public bool? PrevKv { get; set; }
    /// <summary>watch-start: the watcher goes through the C# client (src/Client) with every member as an endpoint, failing over by itself.</summary>
    public bool? Client { get; set; }
    /// <summary>watch-start of a client watcher: the watch was made with require-leader (hasleader metadata).</summary>
    public bool? RequireLeader { get; set; }
    /// <summary>watch-start of a client watcher: the member names of its endpoints, preferred first.</summary>
    public List<string>? Endpoints { get; set; }
    /// <summary>watch-end: compact revision when the watch was cancelled because of compaction.</summary>
    public long? CompactRevision { get; set; }
    public List<Ev>? Events { get; set; }
    /// <summary>txn: its micro-operations (invoke: the intended ones; ok: with the lists read).</summary>
    public List<Mop>? Txn { get; set; }
    public string? Error { get; set; }

    public override string ToString() => Txn != null
        ? $"#{Index} p{Process} {Type} txn [{string.Join(", ", Txn)}]{(Succeeded is { } ts ? $" succ={ts}" : "")} rev={Revision} t={TimeNs / 1_000_000}ms{(Error != null ? " err=" + Error : "")}"
        : $"#{Index} p{Process} {Type} {F} {Key}{(Expected != null ? $" exp={Expected}" : "")} v={Value ?? "nil"}{(Succeeded is { } s ? $" succ={s}" : "")} rev={Revision} t={TimeNs / 1_000_000}ms{(Error != null ? " err=" + Error : "")}";
}

public static class OpType
{
    public const string Invoke = "invoke", Ok = "ok", Fail = "fail", Info = "info";
}

public static class Fn
{
    public const string Read = "read", Write = "write", Cas = "cas", WatchStart = "watch-start", WatchEvent = "watch-event",
        Progress = "progress", WatchEnd = "watch-end", WatchCreated = "watch-created", ClientLog = "client-log", Compact = "compact", Nemesis = "nemesis", Txn = "txn";
}

/// <summary>JSON lines reading and writing of histories.</summary>
public static class HistoryFile
{
    public static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public static string Serialize(Op op) => JsonSerializer.Serialize(op, Json);

    public static void Write(string path, IEnumerable<Op> ops)
    {
        using var w = new StreamWriter(path);
        foreach (var op in ops)
        {
            w.WriteLine(Serialize(op));
        }
    }

    public static List<Op> Read(string path) =>
        File.ReadLines(path).Where(l => l.Length > 0).Select(l => JsonSerializer.Deserialize<Op>(l, Json)!).ToList();
}

/// <summary>Thread-safe recorder with a monotonic clock.</summary>
public sealed class Recorder
{
    private readonly List<Op> _ops = [];
    private readonly Lock _gate = new();
    private readonly long _start = System.Diagnostics.Stopwatch.GetTimestamp();

    public long NowNs() => (long)((System.Diagnostics.Stopwatch.GetTimestamp() - _start) * (1e9 / System.Diagnostics.Stopwatch.Frequency));

    public Op Add(Op op)
    {
        lock (_gate)
        {
            op.TimeNs = NowNs();
            op.Index = _ops.Count;
            _ops.Add(op);
        }
        return op;
    }

    public List<Op> Snapshot()
    {
        lock (_gate)
        {
            return [.. _ops];
        }
    }
}
