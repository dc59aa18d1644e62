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
/// </summary>
public sealed class AppendWorkload(TestCluster cluster, Recorder rec, int seed, Func<int> nextProcess)
{
    /// <summary>The list keys (inside the archive watcher's range k..l, disjoint from the register keys).</summary>
    public static readonly string[] Keys = ["ka0", "ka1", "ka2"];

    private static ByteString B(string s) => ByteString.CopyFromUtf8(s);

    /// <summary>One append client bound to <paramref name="member"/>; after an unknown outcome it continues as a new process.</summary>
    public async Task ClientAsync(int member, int slot, CancellationToken ct)
    {
        var rnd = new Random(seed * 131 + slot);
        int process = nextProcess();
        int n = 0;
        // What this client last saw of each key: the list and its mod_revision (0 = absent, as etcd compares it).
        var seen = Keys.ToDictionary(k => k, _ => (List: new List<string>(), Mod: 0L));
        var ch = cluster.Channel(member);
        var name = cluster.Members[member].Name;
        while (!ct.IsCancellationRequested)
        {
            var element = $"p{process}-{n++}";
            var appendTo = Keys.OrderBy(_ => rnd.Next()).Take(1 + rnd.Next(2)).OrderBy(k => k, StringComparer.Ordinal).ToList();
            var txn = new TxnRequest();
            var mops = new List<Mop>();
            foreach (var k in Keys)
            {
                mops.Add(new Mop { F = Mop.R, Key = k });
                var read = new RequestOp { RequestRange = new RangeRequest { Key = B(k) } };
                txn.Success.Add(read);
                txn.Failure.Add(read);
            }
            foreach (var k in appendTo)
            {
                var written = Mop.Format(seen[k].List.Append(element));
                mops.Add(new Mop { F = Mop.Append, Key = k, Element = element, Written = written });
                txn.Compare.Add(new Compare { Key = B(k), Target = Compare.Types.CompareTarget.Mod, Result = Compare.Types.CompareResult.Equal, ModRevision = seen[k].Mod });
                txn.Success.Add(new RequestOp { RequestPut = new PutRequest { Key = B(k), Value = B(written) } });
            }
            rec.Add(new Op { Process = process, Type = OpType.Invoke, F = Fn.Txn, Member = name, Txn = mops });
            var done = new Op { Process = process, F = Fn.Txn, Member = name };
            try
            {
                var r = await ch.UnaryAsync("/etcdserverpb.KV/Txn", txn, TxnResponse.Parser, deadline: DateTime.UtcNow.AddSeconds(3), cancellationToken: ct);
                var result = new List<Mop>();
                for (int i = 0; i < Keys.Length; i++)
                {
                    var kvs = r.Responses[i].ResponseRange.Kvs;
                    var list = kvs.Count > 0 ? Mop.Parse(kvs[0].Value.ToStringUtf8()) : [];
                    result.Add(new Mop { F = Mop.R, Key = Keys[i], Read = list });
                    seen[Keys[i]] = (list, kvs.Count > 0 ? kvs[0].ModRevision : 0);
                }
                result.AddRange(mops.Where(m => m.F == Mop.Append));
                if (r.Succeeded)
                {
                    foreach (var m in mops.Where(m => m.F == Mop.Append)) seen[m.Key] = (Mop.Parse(m.Written), r.Header.Revision);
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
