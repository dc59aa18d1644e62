// Cairn's benchmark: the same v3 workloads against any etcd-API cluster.
//   run    --name NAME --endpoints a,b,c --pids p1,p2,p3 --out FILE.json [--quick]
//        [--only put-seq-1,put-64,...] [--spans FILE]    (a subset of workloads; put-seq-1's per-op times)
//        [--restart 'CMD {n}']                           (watch-resume: restarts member n, 1-based, and prints its pid)
//   report --out docs/benchmarks.md FILE.json...      (side-by-side table with ratios)
//   trace DIR                                          (stage medians of put-seq-1 from CAIRN_LATENCY_TRACE files + --spans)
// scripts/bench.sh starts a real 3-member etcd and a 3-member Cairn and runs both in alternation.
using System.Text.Json;
using Cairn.Bench;
using Etcdserverpb;

return args.FirstOrDefault() switch
{
    "run" => await RunAsync(Options(args[1..])),
    "report" => Report.Write(Options(args[1..], positional: true)),
    "trace" when args.Length == 2 => TraceReport.Print(args[1]),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: Cairn.Bench run --name N --endpoints a,b,c --pids p1,p2,p3 --out F.json [--quick] [--only W1,W2] [--spans F] [--restart 'CMD {n}'] | report --out F.md A.json B.json ... | trace DIR");
    return 2;
}

static Dictionary<string, string> Options(string[] args, bool positional = false)
{
    var options = new Dictionary<string, string>();
    var files = new List<string>();
    for (var i = 0; i < args.Length; i++)
    {
        if (args[i].StartsWith("--", StringComparison.Ordinal))
            options[args[i][2..]] = i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal) ? args[++i] : "true";
        else if (positional)
            files.Add(args[i]);
    }

    options["files"] = string.Join(',', files);
    return options;
}

static async Task<int> RunAsync(Dictionary<string, string> o)
{
    var quick = o.ContainsKey("quick");
    var scale = quick ? 0.2 : 1.0;
    int N(int n) => Math.Max(100, (int)(n * scale));
    var endpoints = o["endpoints"].Split(',');
    var pids = o.TryGetValue("pids", out var p) ? p.Split(',').Select(int.Parse).ToArray() : [];
    using var target = new Target(o["name"], endpoints, pids, connectionsPerEndpoint: 2);

    // The leader's channel, for the single-client sequential put (etcd's benchmark does the same).
    var leaderChannel = 0;
    for (var i = 0; i < endpoints.Length; i++)
    {
        var status = await target.Channels[i].UnaryAsync("/etcdserverpb.Maintenance/Status", new StatusRequest(), StatusResponse.Parser);
        if (status.Leader == status.Header.MemberId)
            leaderChannel = i;
    }

    var only = o.TryGetValue("only", out var list) ? list.Split(',').ToHashSet() : null;
    bool Wanted(string name) => only is null || only.Contains(name);
    var results = new Dictionary<string, object>();
    var cpuMark = target.CpuMicroseconds();
    void Record(string name, Summary s, long[] rss)
    {
        // The members' CPU since the previous workload ended (or the warm-up), per operation.
        var cpu = target.CpuMicroseconds();
        var cpuPerOp = s.Ops == 0 ? 0 : (cpu - cpuMark) / (double)s.Ops;
        results[name] = new { s.Ops, s.OpsPerSecond, s.P50Ms, s.P99Ms, s.P999Ms, s.MeanMs, s.Errors, CpuMicrosPerOp = cpuPerOp, RssMiB = rss.Select(r => r / 1048576.0).ToArray() };
        Console.WriteLine($"{target.Name,-6} {name,-22} {s.OpsPerSecond,10:F0} ops/s  p50 {s.P50Ms,7:F3} ms  p99 {s.P99Ms,7:F3} ms  p99.9 {s.P999Ms,7:F3} ms  mean {s.MeanMs,7:F3} ms  cpu {cpuPerOp,6:F0} µs/op  errors {s.Errors}  rss {string.Join('/', rss.Select(r => (r / 1048576).ToString()))} MiB  load {File.ReadAllText("/proc/loadavg")[..14]}");
        cpuMark = target.CpuMicroseconds();
    }

    await Workloads.Put(target, 500, 16, 256, leaderChannel); // warm-up: connections, JIT, first allocations
    cpuMark = target.CpuMicroseconds();
    if (Wanted("put-seq-1"))
        Record("put-seq-1", await Workloads.Put(target, N(3_000), 1, 256, leaderChannel, o.GetValueOrDefault("spans")), target.Rss());
    if (Wanted("put-64"))
        Record("put-64", await Workloads.Put(target, N(40_000), 64, 256, leaderChannel), target.Rss());
    if (Wanted("range-lin-64"))
        Record("range-lin-64", await Workloads.Range(target, N(40_000), 64, serializable: false), target.Rss());
    if (Wanted("range-ser-64"))
        Record("range-ser-64", await Workloads.Range(target, N(40_000), 64, serializable: true), target.Rss());
    if (Wanted("txn-cas-64"))
        Record("txn-cas-64", await Workloads.CompareAndSet(target, N(20_000), 64, 256), target.Rss());
    if (Wanted("watch-100-put-to-event"))
    {
        var (events, eventsPerSecond) = await Workloads.WatchFanOut(target, watchers: 100, puts: N(5_000), inflight: 64, valueSize: 256);
        Record("watch-100-put-to-event", events with { OpsPerSecond = eventsPerSecond }, target.Rss());
    }

    if (Wanted("idle-watcher-bytes"))
    {
        var idle = await Workloads.IdleWatcherBytes(target, watchers: quick ? 2_000 : 10_000, streamsCount: 10);
        results["idle-watcher-bytes"] = idle;
        Console.WriteLine($"{target.Name,-6} idle watcher            {idle,10:F0} bytes of member RSS each");
    }

    // Last: it kills members. Without a restart command only one member can go (a second kill of
    // three would leave no quorum), so the leader variant needs one.
    if (Wanted("watch-resume") && pids.Length == endpoints.Length)
    {
        var restart = o.GetValueOrDefault("restart");
        foreach (var watchLeader in restart is null ? [false] : new[] { false, true })
        {
            var trials = watchLeader ? (quick ? 2 : 3) : (quick ? 3 : 5);
            var resume = await WatchResume.RunAsync(target, pids, restart, watchLeader, trials, watchers: 10);
            results["watch-resume-" + resume.Variant] = resume.ToJson();
            Console.WriteLine(resume.Describe(target.Name));
            foreach (var violation in resume.Violations)
                Console.Error.WriteLine($"*** WATCH-RESUME VIOLATION ({target.Name}): {violation}");
        }
    }
    else if (Wanted("watch-resume"))
    {
        Console.Error.WriteLine("watch-resume skipped: it needs --pids for every endpoint (it kills members)");
    }

    var json = JsonSerializer.Serialize(new { target = target.Name, results }, new JsonSerializerOptions { WriteIndented = true });
    await File.WriteAllTextAsync(o["out"], json);
    return 0;
}
