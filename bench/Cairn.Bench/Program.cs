// Cairn's benchmark: the same v3 workloads against any etcd-API cluster.
//   run    --name NAME --endpoints a,b,c --pids p1,p2,p3 --out FILE.json [--quick]
//        [--only put-seq-1,put-64,...] [--spans FILE]    (a subset of workloads; put-seq-1's per-op times)
//        [--restart 'CMD {n}']                           (watch-resume: restarts member n, 1-based, and prints its pid)
//        [--warmup F]                                    (discarded warm-up pass at F x size, default 0.1; 0 = none)
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
    Console.Error.WriteLine("usage: Cairn.Bench run --name N --endpoints a,b,c --pids p1,p2,p3 --out F.json [--quick] [--only W1,W2] [--spans F] [--restart 'CMD {n}'] [--warmup F] | report --out F.md A.json B.json ... | trace DIR");
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

    // Warm-up: every selected workload once at a tenth of its size, results discarded. A Cairn member
    // is JIT-compiled in tiers while it runs (etcd is compiled ahead of time): a fresh member's first
    // few thousand requests of each kind run slower code and pay for compiling the faster one
    // (put-seq-1 right after a start ran at ~60 % of its speed a minute later). The measured pass
    // then sees the steady state of both servers, which is what a long-running cluster serves.
    var warm = o.TryGetValue("warmup", out var w) ? double.Parse(w, System.Globalization.CultureInfo.InvariantCulture) : 0.1;
    await Workloads.Put(target, 500, 16, 256, leaderChannel); // connections, first allocations
    if (warm > 0)
        await Pass(scale * warm, measured: false);
    cpuMark = target.CpuMicroseconds();
    await Pass(scale, measured: true);

    async Task Pass(double passScale, bool measured)
    {
        int Size(int n) => Math.Max(100, (int)(n * passScale));
        void Keep(string name, Summary s)
        {
            if (measured)
                Record(name, s, target.Rss());
        }
        if (Wanted("put-seq-1"))
            Keep("put-seq-1", await Workloads.Put(target, Size(3_000), 1, 256, leaderChannel, measured ? o.GetValueOrDefault("spans") : null));
        if (Wanted("put-64"))
            Keep("put-64", await Workloads.Put(target, Size(40_000), 64, 256, leaderChannel));
        if (Wanted("range-lin-64"))
            Keep("range-lin-64", await Workloads.Range(target, Size(40_000), 64, serializable: false));
        if (Wanted("range-ser-64"))
            Keep("range-ser-64", await Workloads.Range(target, Size(40_000), 64, serializable: true));
        if (Wanted("txn-cas-64"))
            Keep("txn-cas-64", await Workloads.CompareAndSet(target, Size(20_000), 64, 256));
        if (Wanted("watch-100-put-to-event"))
        {
            var (events, eventsPerSecond) = await Workloads.WatchFanOut(target, watchers: 100, puts: Size(5_000), inflight: 64, valueSize: 256);
            Keep("watch-100-put-to-event", events with { OpsPerSecond = eventsPerSecond });
        }
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
