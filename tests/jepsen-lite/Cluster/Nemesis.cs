using Cairn.JepsenLite.History;
using Etcdserverpb;

namespace Cairn.JepsenLite.Cluster;

/// <summary>
/// Faults on a seeded schedule: each round picks one fault of the scenario (System.Random(seed)), holds it for
/// 2–5 s, heals, then stays quiet 1–3 s. Every fault is recorded (f = nemesis, invoke at start, ok at heal), so
/// the same seed replays the same schedule (member choices that depend on the current leader are the exception).
/// </summary>
public sealed class Nemesis(TestCluster cluster, Recorder rec, int seed, IReadOnlyList<string> faults)
{
    public const string Kill = "kill", Pause = "pause", IsolateLeader = "isolate-leader", Partition = "partition-majority-minority",
        OneWay = "one-way", Delay = "delay", Drop = "drop", Compact = "compact",
        IsolateMember = "isolate-member", ClientPartition = "client-partition", Replace = "replace";

    /// <summary>Key of nemesis records that only report progress (or, with an error, a fault that could not be completed).</summary>
    public const string Note = "note";

    public static readonly string[] AllFaults = [Kill, Pause, IsolateLeader, Partition, OneWay, Delay, Drop, Compact, IsolateMember, ClientPartition, Replace];

    private readonly Random _rnd = new(seed);

    /// <summary>Highest revision that may be compacted (the archive watcher's progress).</summary>
    public Func<long> SafeCompactRevision { get; set; } = () => 0;

    public async Task RunAsync(CancellationToken ct)
    {
        try
        {
            await Task.Delay(1500, ct);
            while (!ct.IsCancellationRequested)
            {
                var f = faults[_rnd.Next(faults.Count)];
                int hold = 2000 + _rnd.Next(3000), quiet = 1000 + _rnd.Next(2000), victim = _rnd.Next(3);
                await OneAsync(f, victim, hold, ct);
                await Task.Delay(quiet, ct);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task OneAsync(string f, int victim, int hold, CancellationToken ct)
    {
        string desc = f;
        var inv = new Op { Process = -2, Type = OpType.Invoke, F = Fn.Nemesis, Key = f };
        try
        {
            switch (f)
            {
                case Kill:
                    desc = $"kill -9 {cluster.Members[victim].Name}";
                    rec.Add(Tag(inv, desc));
                    cluster.Members[victim].Kill();
                    await Task.Delay(hold, ct);
                    break;
                case Pause:
                    desc = $"SIGSTOP {cluster.Members[victim].Name}";
                    rec.Add(Tag(inv, desc));
                    cluster.Members[victim].Signal("STOP");
                    await Task.Delay(hold, ct);
                    break;
                case IsolateLeader:
                {
                    var l = await cluster.LeaderAsync(ct);
                    if (l < 0) l = victim;
                    desc = $"isolate leader {cluster.Members[l].Name}";
                    rec.Add(Tag(inv, desc));
                    CutFromPeers(l);
                    await Task.Delay(hold, ct);
                    break;
                }
                case Partition:
                {
                    // Minority {victim} vs majority of the other two; symmetric.
                    desc = $"partition {cluster.Members[victim].Name} | rest";
                    rec.Add(Tag(inv, desc));
                    CutFromPeers(victim);
                    await Task.Delay(hold, ct);
                    break;
                }
                case IsolateMember:
                {
                    // Cut from peers and from its clients: its clients time out or are refused and must fail over.
                    desc = $"isolate {cluster.Members[victim].Name} from peers and clients";
                    rec.Add(Tag(inv, desc));
                    CutFromPeers(victim);
                    cluster.Proxy.Block(FaultProxy.Clients, victim);
                    await Task.Delay(hold, ct);
                    break;
                }
                case ClientPartition:
                {
                    // The member stays in the cluster (and may lead); only its clients lose it.
                    desc = $"cut clients from {cluster.Members[victim].Name}";
                    rec.Add(Tag(inv, desc));
                    cluster.Proxy.Block(FaultProxy.Clients, victim);
                    await Task.Delay(hold, ct);
                    break;
                }
                case OneWay:
                {
                    var l = await cluster.LeaderAsync(ct);
                    if (l < 0) l = victim;
                    desc = $"one-way: {cluster.Members[l].Name} (leader) cannot send";
                    rec.Add(Tag(inv, desc));
                    for (int o = 0; o < 3; o++)
                    {
                        if (o != l) cluster.Proxy.Block(l, o);
                    }
                    await Task.Delay(hold, ct);
                    break;
                }
                case Delay:
                    desc = "peer delay 75±50 ms";
                    rec.Add(Tag(inv, desc));
                    cluster.Proxy.DelayJitterMs = 50;
                    cluster.Proxy.DelayMeanMs = 75;
                    await Task.Delay(hold, ct);
                    break;
                case Drop:
                    desc = "peer drop 50%";
                    rec.Add(Tag(inv, desc));
                    cluster.Proxy.DropProbability = 0.5;
                    await Task.Delay(hold, ct);
                    break;
                case Replace:
                {
                    desc = $"replace {cluster.Members[victim].Name}";
                    rec.Add(Tag(inv, desc));
                    // Not cancelled by the end of the load: a replacement stopped half way (removed and wiped, not
                    // added back) would leave a member that can never rejoin. Each step is bounded (30 s).
                    try
                    {
                        desc = await cluster.ReplaceAsync(victim, s => rec.Add(new Op { Process = -2, Type = OpType.Info, F = Fn.Nemesis, Key = Note, Value = s }),
                            CancellationToken.None);
                    }
                    catch (Exception e) when (e is TimeoutException or InvalidOperationException)
                    {
                        desc += " FAILED";
                        rec.Add(new Op { Process = -2, Type = OpType.Info, F = Fn.Nemesis, Key = Note, Value = desc, Error = e.Message });
                    }
                    await Task.Delay(hold / 2, ct);
                    break;
                }
                case Compact:
                {
                    long safe = SafeCompactRevision() - 5;
                    desc = $"compact to {safe}";
                    rec.Add(Tag(inv, desc));
                    if (safe > 1)
                    {
                        try
                        {
                            await cluster.AdminChannel(victim).UnaryAsync("/etcdserverpb.KV/Compact", new CompactionRequest { Revision = safe },
                                CompactionResponse.Parser, deadline: DateTime.UtcNow.AddSeconds(3), cancellationToken: ct);
                            rec.Add(new Op { Process = -2, Type = OpType.Ok, F = Fn.Compact, Revision = safe, Member = cluster.Members[victim].Name });
                        }
                        catch (Cairn.Protocol.RpcException e)
                        {
                            rec.Add(new Op { Process = -2, Type = OpType.Info, F = Fn.Compact, Revision = safe, Error = e.Status + ": " + e.Message });
                        }
                    }
                    await Task.Delay(hold / 4, ct);
                    break;
                }
            }
        }
        finally
        {
            await HealAsync();
            rec.Add(new Op { Process = -2, Type = OpType.Ok, F = Fn.Nemesis, Key = f, Value = desc });
        }
    }

    private void CutFromPeers(int m)
    {
        for (int o = 0; o < cluster.Members.Count; o++)
        {
            if (o != m) cluster.Proxy.BlockBoth(m, o);
        }
    }

    private static Op Tag(Op op, string desc)
    {
        op.Value = desc;
        return op;
    }

    /// <summary>Heals everything: proxy faults off, paused members continued, dead members restarted.</summary>
    public Task HealAsync()
    {
        cluster.Proxy.HealAll();
        foreach (var m in cluster.Members)
        {
            if (m.Paused) m.Signal("CONT");
            if (!m.Running) m.Start();
        }
        return Task.CompletedTask;
    }
}
