using Cairn.Grpc.Client;
using Cairn.JepsenLite.Cluster;
using Cairn.JepsenLite.History;
using Cairn.Protocol;
using Etcdserverpb;
using Google.Protobuf;

namespace Cairn.JepsenLite.Workloads;

/// <summary>Register clients (read / write / delete / cas on a few keys) and watchers, all recording into one history.</summary>
public sealed class Workloads(TestCluster cluster, Recorder rec, int seed)
{
    public static readonly string[] Keys = ["k0", "k1", "k2"];
    private int _nextProcess = 100;
    private long _archiveLast = 1;

    public long ArchiveLast => Interlocked.Read(ref _archiveLast);

    /// <summary>A fresh process id (shared by every workload of the run).</summary>
    public int NextProcess() => Interlocked.Increment(ref _nextProcess);

    private static ByteString B(string s) => ByteString.CopyFromUtf8(s);

    private static DateTime Deadline => DateTime.UtcNow.AddSeconds(3);

    /// <summary>One register client bound to <paramref name="member"/>; after an unknown outcome it continues as a new process.</summary>
    public async Task ClientAsync(int member, int slot, CancellationToken ct)
    {
        var rnd = new Random(seed * 31 + slot);
        int process = Interlocked.Increment(ref _nextProcess);
        int n = 0;
        var seen = new Dictionary<string, string?>();
        var ch = cluster.Channel(member);
        var name = cluster.Members[member].Name;
        while (!ct.IsCancellationRequested)
        {
            var key = Keys[rnd.Next(Keys.Length)];
            var roll = rnd.Next(100);
            var value = $"p{process}-{n++}";
            Op inv;
            if (roll < 40) inv = new Op { F = Fn.Read, Key = key };
            else if (roll < 70) inv = new Op { F = Fn.Write, Key = key, Value = value };
            else if (roll < 75) inv = new Op { F = Fn.Write, Key = key, Value = null };
            else inv = new Op { F = Fn.Cas, Key = key, Value = value, Expected = seen.GetValueOrDefault(key) };
            inv.Process = process;
            inv.Type = OpType.Invoke;
            inv.Member = name;
            rec.Add(inv);
            var done = new Op { Process = process, F = inv.F, Key = key, Member = name };
            try
            {
                switch (inv.F)
                {
                    case Fn.Read:
                    {
                        var r = await ch.UnaryAsync("/etcdserverpb.KV/Range", new RangeRequest { Key = B(key) }, RangeResponse.Parser, deadline: Deadline, cancellationToken: ct);
                        done.Value = r.Kvs.Count > 0 ? r.Kvs[0].Value.ToStringUtf8() : null;
                        done.ModRevision = r.Kvs.Count > 0 ? r.Kvs[0].ModRevision : null;
                        done.Revision = r.Header.Revision;
                        seen[key] = done.Value;
                        break;
                    }
                    case Fn.Write when inv.Value != null:
                    {
                        var r = await ch.UnaryAsync("/etcdserverpb.KV/Put", new PutRequest { Key = B(key), Value = B(inv.Value) }, PutResponse.Parser, deadline: Deadline, cancellationToken: ct);
                        done.Revision = r.Header.Revision;
                        seen[key] = inv.Value;
                        break;
                    }
                    case Fn.Write:
                    {
                        var r = await ch.UnaryAsync("/etcdserverpb.KV/DeleteRange", new DeleteRangeRequest { Key = B(key) }, DeleteRangeResponse.Parser, deadline: Deadline, cancellationToken: ct);
                        done.Revision = r.Header.Revision;
                        seen[key] = null;
                        break;
                    }
                    default:
                    {
                        var cmp = inv.Expected == null
                            ? new Compare { Key = B(key), Target = Compare.Types.CompareTarget.Create, Result = Compare.Types.CompareResult.Equal, CreateRevision = 0 }
                            : new Compare { Key = B(key), Target = Compare.Types.CompareTarget.Value, Result = Compare.Types.CompareResult.Equal, Value = B(inv.Expected) };
                        var txn = new TxnRequest();
                        txn.Compare.Add(cmp);
                        txn.Success.Add(new RequestOp { RequestPut = new PutRequest { Key = B(key), Value = B(inv.Value!) } });
                        txn.Failure.Add(new RequestOp { RequestRange = new RangeRequest { Key = B(key) } });
                        var r = await ch.UnaryAsync("/etcdserverpb.KV/Txn", txn, TxnResponse.Parser, deadline: Deadline, cancellationToken: ct);
                        done.Succeeded = r.Succeeded;
                        done.Revision = r.Header.Revision;
                        if (r.Succeeded) seen[key] = inv.Value;
                        else
                        {
                            var kvs = r.Responses.Count > 0 ? r.Responses[0].ResponseRange?.Kvs : null;
                            seen[key] = kvs is { Count: > 0 } ? kvs[0].Value.ToStringUtf8() : null;
                        }
                        break;
                    }
                }
                done.Type = OpType.Ok;
                rec.Add(done);
            }
            catch (Exception e) when (e is RpcException or OperationCanceledException)
            {
                done.Error = e is RpcException re ? $"{re.Status}: {re.Message}" : "cancelled";
                // A failed read had no effect; a write/cas whose outcome we did not hear may have happened.
                done.Type = inv.F == Fn.Read ? OpType.Fail : OpType.Info;
                rec.Add(done);
                if (done.Type == OpType.Info) process = Interlocked.Increment(ref _nextProcess);
                if (ct.IsCancellationRequested) break;
                await Task.Delay(50 + rnd.Next(100), CancellationToken.None);
            }
            await Task.Delay(rnd.Next(5, 25), CancellationToken.None);
        }
    }

    /// <summary>
    /// A watcher on <paramref name="member"/>: records every event response and progress notification; on error or
    /// cancellation resumes (on the next member when <paramref name="rotate"/>) at last delivered revision + 1 (or at the compact revision when compacted). It asks for
    /// progress every 500 ms. With <paramref name="rewindMs"/> it ends each session after that long and re-watches from a random older revision. With <paramref name="archive"/> set it records archive records instead (the committed history).
    /// </summary>
    public async Task WatcherAsync(int member, string key, string rangeEnd, bool prevKv, bool noPut, bool noDelete, CancellationToken ct,
        bool archive = false, Func<bool>? done = null, bool rotate = false, int rewindMs = 0)
    {
        int process = Interlocked.Increment(ref _nextProcess);
        long next = 1;
        bool firstArchive = true;
        var rewind = new Random(seed * 7 + member);
        while (!ct.IsCancellationRequested && !(done?.Invoke() ?? false))
        {
            var m = member;
            var name = cluster.Members[m].Name;
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
            if (rewindMs > 0) stop.CancelAfter(rewindMs);
            if (!archive)
            {
                rec.Add(new Op { Process = process, Type = OpType.Ok, F = Fn.WatchStart, Key = key, RangeEnd = rangeEnd, StartRevision = next, PrevKv = prevKv,
                    NoPut = noPut ? true : null, NoDelete = noDelete ? true : null, Member = name });
            }
            string? error = null;
            long compact = 0;
            try
            {
                using var call = cluster.Channel(m).DuplexStreaming<WatchRequest, WatchResponse>("/etcdserverpb.Watch/Watch", WatchResponse.Parser, cancellationToken: stop.Token);
                var create = new WatchCreateRequest { Key = B(key), StartRevision = next, PrevKv = prevKv };
                if (rangeEnd.Length > 0) create.RangeEnd = rangeEnd == "\0" ? ByteString.CopyFrom(0) : B(rangeEnd);
                if (noPut) create.Filters.Add(WatchCreateRequest.Types.FilterType.Noput);
                if (noDelete) create.Filters.Add(WatchCreateRequest.Types.FilterType.Nodelete);
                await call.WriteAsync(new WatchRequest { CreateRequest = create }, stop.Token);
                var progressLoop = Task.Run(async () =>
                {
                    while (!stop.IsCancellationRequested)
                    {
                        await Task.Delay(500, stop.Token);
                        await call.WriteAsync(new WatchRequest { ProgressRequest = new WatchProgressRequest() }, stop.Token);
                    }
                }, stop.Token);
                // Archive: stop once it has caught up with the target (checked between responses).
                while (!(done?.Invoke() ?? false))
                {
                    if (!await call.MoveNextAsync(stop.Token)) { error = "stream ended"; break; }
                    var r = call.Current;
                    if (r.Canceled)
                    {
                        compact = r.CompactRevision;
                        error = $"canceled: {r.CancelReason}";
                        break;
                    }
                    if (r.Created) continue;
                    if (r.Events.Count == 0)
                    {
                        if (!archive) rec.Add(new Op { Process = process, Type = OpType.Ok, F = Fn.Progress, Revision = r.Header.Revision, Member = name });
                        continue;
                    }
                    var evs = r.Events.Select(Convert).ToList();
                    next = evs.Max(e => e.ModRevision) + 1;
                    if (archive)
                    {
                        rec.Add(new Op { Process = process, Type = OpType.Ok, F = "archive", StartRevision = firstArchive ? 1 : null, Events = evs, Revision = r.Header.Revision, Member = name });
                        firstArchive = false;
                        Interlocked.Exchange(ref _archiveLast, next - 1);
                    }
                    else
                    {
                        rec.Add(new Op { Process = process, Type = OpType.Ok, F = Fn.WatchEvent, Events = evs, Revision = r.Header.Revision, Member = name });
                    }
                }
                stop.Cancel();
                try { await progressLoop; } catch { }
            }
            catch (Exception e) when (e is RpcException or OperationCanceledException or IOException)
            {
                error = e.Message;
            }
            if (!archive)
            {
                rec.Add(new Op { Process = process, Type = OpType.Ok, F = Fn.WatchEnd, Error = error, CompactRevision = compact > 0 ? compact : null, Member = name });
            }
            else if (compact > 0)
            {
                rec.Add(new Op { Process = process, Type = OpType.Info, F = "archive-compacted", Revision = compact, Member = name });
                return;
            }
            if (compact > 0) next = compact;
            else if (rewindMs > 0) next = 1 + rewind.NextInt64(Math.Max(1, next)); // re-watch from an older revision (hits compaction)
            if (archive || rotate) member = (member + 1) % cluster.Members.Count;
            if (!ct.IsCancellationRequested) await Task.Delay(200, CancellationToken.None);
        }
    }

    /// <summary>A watch event as the history records it.</summary>
    internal static Ev Convert(Mvccpb.Event e) => new()
    {
        Type = e.Type == Mvccpb.Event.Types.EventType.Put ? "PUT" : "DELETE",
        Key = e.Kv.Key.ToStringUtf8(),
        Value = e.Type == Mvccpb.Event.Types.EventType.Put ? e.Kv.Value.ToStringUtf8() : null,
        ModRevision = e.Kv.ModRevision,
        CreateRevision = e.Kv.CreateRevision,
        Version = e.Kv.Version,
        HasPrev = e.PrevKv != null,
        PrevValue = e.PrevKv?.Value.ToStringUtf8(),
    };

    /// <summary>Final linearizable Range of every workload key; recorded as a final-state record.</summary>
    public async Task<long> FinalStateAsync(int member, CancellationToken ct)
    {
        var r = await cluster.Channel(member).UnaryAsync("/etcdserverpb.KV/Range", new RangeRequest { Key = B("k"), RangeEnd = B("l") },
            RangeResponse.Parser, deadline: DateTime.UtcNow.AddSeconds(5), cancellationToken: ct);
        rec.Add(new Op
        {
            Process = -1, Type = OpType.Ok, F = "final-state", Revision = r.Header.Revision, Member = cluster.Members[member].Name,
            Events = r.Kvs.Select(kv => new Ev { Key = kv.Key.ToStringUtf8(), Value = kv.Value.ToStringUtf8(), ModRevision = kv.ModRevision, CreateRevision = kv.CreateRevision, Version = kv.Version }).ToList(),
        });
        return r.Header.Revision;
    }
}
