using Cairn.Grpc.Client;
using Cairn.JepsenLite.Cluster;
using Cairn.JepsenLite.History;
using Cairn.Protocol;
using Etcdserverpb;
using Google.Protobuf;

namespace Cairn.JepsenLite.Workloads;

/// <summary>
/// The append workload (Jepsen's list-append, in etcd's transactional style): each client runs one Txn per operation
/// that reads every key of <see cref="Keys"/> and appends one unique element to one or two of them. The appends are
/// guarded by a compare on each appended key's mod_revision (the one this client last saw), so a Txn either writes
/// list + element atomically or fails its compare and only reads. Reads come before the puts inside the Txn, so a
/// successful Txn at revision R read the state at R − 1. Recorded as f = txn with its micro-operations.
/// Values stay small (a Txn writes whole lists): a client that reads a list of <see cref="MaxPerKey"/> or more elements
/// moves that slot to the next key (<c>ka1-0</c> → <c>ka1-1</c>), as Jepsen bounds writes per key; the others follow as
/// soon as they read it.
/// </summary>
public sealed class AppendWorkload(TestCluster cluster, Recorder rec, int seed, Func<int> nextProcess)
{
    /// <summary>Key slots per transaction.</summary>
    public const int Slots = 3;

    /// <summary>Length at which a slot moves on to a fresh key.</summary>
    public const int MaxPerKey = 32;

    /// <summary>The key of <paramref name="slot"/> in generation <paramref name="gen"/> (inside the archive watcher's range k..l,
    /// disjoint from the register keys).</summary>
    public static string Key(int slot, int gen) => $"ka{slot}-{gen}";

    private static ByteString B(string s) => ByteString.CopyFromUtf8(s);

    /// <summary>One append client bound to <paramref name="member"/>; after an unknown outcome it continues as a new process.</summary>
    public async Task ClientAsync(int member, int slot, CancellationToken ct)
    {
        var rnd = new Random(seed * 131 + slot);
        int process = nextProcess();
        int n = 0;
        // Per slot: the current key and what this client last saw of it — the list and its mod_revision (0 = absent,
        // as etcd compares it).
        var gen = new int[Slots];
        var seen = new (List<string> List, long Mod)[Slots];
        for (int i = 0; i < Slots; i++) seen[i] = ([], 0);
        var ch = cluster.Channel(member);
        var name = cluster.Members[member].Name;
        while (!ct.IsCancellationRequested)
        {
            var element = $"p{process}-{n++}";
            var keys = Enumerable.Range(0, Slots).Select(i => Key(i, gen[i])).ToArray();
            var appendTo = Enumerable.Range(0, Slots).OrderBy(_ => rnd.Next()).Take(1 + rnd.Next(2)).Order().ToList();
            var txn = new TxnRequest();
            var mops = new List<Mop>();
            foreach (var k in keys)
            {
                mops.Add(new Mop { F = Mop.R, Key = k });
                var read = new RequestOp { RequestRange = new RangeRequest { Key = B(k) } };
                txn.Success.Add(read);
                txn.Failure.Add(read);
            }
            foreach (var i in appendTo)
            {
                var written = Mop.Format(seen[i].List.Append(element));
                mops.Add(new Mop { F = Mop.Append, Key = keys[i], Element = element, Written = written });
                txn.Compare.Add(new Compare { Key = B(keys[i]), Target = Compare.Types.CompareTarget.Mod, Result = Compare.Types.CompareResult.Equal, ModRevision = seen[i].Mod });
                txn.Success.Add(new RequestOp { RequestPut = new PutRequest { Key = B(keys[i]), Value = B(written) } });
            }
            rec.Add(new Op { Process = process, Type = OpType.Invoke, F = Fn.Txn, Member = name, Txn = mops });
            var done = new Op { Process = process, F = Fn.Txn, Member = name };
            try
            {
                var r = await ch.UnaryAsync("/etcdserverpb.KV/Txn", txn, TxnResponse.Parser, deadline: DateTime.UtcNow.AddSeconds(3), cancellationToken: ct);
                var result = new List<Mop>();
                for (int i = 0; i < Slots; i++)
                {
                    var kvs = r.Responses[i].ResponseRange.Kvs;
                    var list = kvs.Count > 0 ? Mop.Parse(kvs[0].Value.ToStringUtf8()) : [];
                    result.Add(new Mop { F = Mop.R, Key = keys[i], Read = list });
                    seen[i] = (list, kvs.Count > 0 ? kvs[0].ModRevision : 0);
                }
                result.AddRange(mops.Where(m => m.F == Mop.Append));
                if (r.Succeeded)
                {
                    foreach (var i in appendTo) seen[i] = (Mop.Parse(mops.First(m => m.F == Mop.Append && m.Key == keys[i]).Written), r.Header.Revision);
                }
                for (int i = 0; i < Slots; i++)
                {
                    if (seen[i].List.Count < MaxPerKey) continue;
                    gen[i]++;
                    seen[i] = ([], 0);
                }
                done.Type = OpType.Ok;
                done.Succeeded = r.Succeeded;
                done.Revision = r.Header.Revision;
                done.Txn = result;
                rec.Add(done);
            }
            catch (Exception e) when (e is RpcException or OperationCanceledException)
            {
                done.Type = OpType.Info;
                done.Error = e is RpcException re ? $"{re.Status}: {re.Message}" : "cancelled";
                rec.Add(done);
                process = nextProcess();
                if (ct.IsCancellationRequested) break;
                await Task.Delay(50 + rnd.Next(100), CancellationToken.None);
            }
            await Task.Delay(rnd.Next(5, 25), CancellationToken.None);
        }
    }
}
