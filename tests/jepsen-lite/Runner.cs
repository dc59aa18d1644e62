using System.Text;
using Cairn.JepsenLite.Checkers;
using Cairn.JepsenLite.Cluster;
using Cairn.JepsenLite.History;
using Cairn.JepsenLite.Report;

namespace Cairn.JepsenLite;

public sealed record Scenario(string Name, string[] Faults, int Seconds);

public sealed record RunResult(Scenario Scenario, int Seed, string Dir, string HistoryFile, List<CheckResult> Results, Validity Overall, string Summary);

/// <summary>Runs scenarios: start a cluster, run workloads + nemesis, heal, read the committed history back, check, report.</summary>
public static class Runner
{
    /// <summary>
    /// The scenarios of a profile. short: 3 × 30 s (every fault kind once, grouped). long: 20 × 120 s — each fault alone,
    /// then pairs and groups, twice everything. <paramref name="seconds"/> overrides the length and
    /// <paramref name="scenarios"/> keeps only the first N (a reduced long profile).
    /// </summary>
    public static List<Scenario> Profile(string profile, int? seconds = null, int? scenarios = null)
    {
        List<Scenario> list;
        if (profile == "long")
        {
            string[][] sets =
            [
                [Nemesis.Kill], [Nemesis.Pause], [Nemesis.IsolateLeader], [Nemesis.Partition], [Nemesis.OneWay],
                [Nemesis.Delay], [Nemesis.Drop], [Nemesis.IsolateMember], [Nemesis.ClientPartition], [Nemesis.Replace],
                [Nemesis.Compact, Nemesis.Kill], [Nemesis.Kill, Nemesis.Pause], [Nemesis.Replace, Nemesis.Kill], [Nemesis.Replace, Nemesis.Compact],
                [Nemesis.Replace, Nemesis.Partition], [Nemesis.IsolateMember, Nemesis.ClientPartition, Nemesis.OneWay],
                [Nemesis.Delay, Nemesis.Drop, Nemesis.Compact], [Nemesis.Pause, Nemesis.IsolateMember], Nemesis.AllFaults, Nemesis.AllFaults,
            ];
            list = [.. sets.Select((f, i) => new Scenario($"long-{i:00}-{string.Join("+", f.Length > 3 ? ["all"] : f)}", f, seconds ?? 120))];
        }
        else
        {
            int s = seconds ?? 30;
            list =
            [
                new Scenario("partitions", [Nemesis.IsolateLeader, Nemesis.Partition, Nemesis.OneWay, Nemesis.IsolateMember, Nemesis.ClientPartition], s),
                new Scenario("crash-pause", [Nemesis.Kill, Nemesis.Pause, Nemesis.Replace], s),
                new Scenario("slow-net-compaction", [Nemesis.Delay, Nemesis.Drop, Nemesis.Compact], s),
            ];
        }
        return scenarios is { } n ? [.. list.Take(n)] : list;
    }

    public static async Task<int> MainAsync(string[] args)
    {
        string target = "cairn", profile = "short", outDir = Path.Combine(Path.GetTempPath(), "jepsen-lite-" + DateTime.UtcNow.ToString("yyyyMMddHHmmss"));
        int seed = 1;
        int? seconds = null, count = null;
        string? only = null, check = null;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--target": target = args[++i]; break;
                case "--seed": seed = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture); break;
                case "--profile": profile = args[++i]; break;
                case "--out": outDir = args[++i]; break;
                case "--seconds": seconds = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture); break;
                case "--scenario": only = args[++i]; break;
                case "--scenarios": count = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture); break;
                case "--check": check = args[++i]; break;
                default:
                    Console.Error.WriteLine($"unknown argument {args[i]}\nusage: --target cairn|etcd --seed N --profile short|long --out DIR [--seconds S] [--scenarios N] [--scenario NAME] | --check HISTORY.jsonl");
                    return 2;
            }
        }
        if (check != null)
        {
            var results = Checker.CheckAll(HistoryFile.Read(check));
            foreach (var r in results) Console.WriteLine(r);
            return Checker.Overall(results) == Validity.Invalid ? 1 : 0;
        }
        var t = target == "etcd" ? Target.Etcd : Target.Cairn;
        var scenarios = Profile(profile, seconds, count).Where(s => only == null || s.Name == only).ToList();
        if (scenarios.Count == 0)
        {
            Console.Error.WriteLine($"no scenario {only} in profile {profile}; scenarios: {string.Join(", ", Profile(profile).Select(s => s.Name))}");
            return 2;
        }
        var all = await RunAllAsync(t, seed, scenarios, outDir, Console.WriteLine, CancellationToken.None);
        return all.Any(r => r.Overall == Validity.Invalid) ? 1 : 0;
    }

    public static async Task<List<RunResult>> RunAllAsync(Target target, int seed, IReadOnlyList<Scenario> scenarios, string outDir, Action<string> log, CancellationToken ct)
    {
        Directory.CreateDirectory(outDir);
        var results = new List<RunResult>();
        for (int i = 0; i < scenarios.Count; i++)
        {
            var r = await RunAsync(target, seed + i, scenarios[i], Path.Combine(outDir, $"{i:00}-{scenarios[i].Name}"), log, ct);
            results.Add(r);
            log(r.Summary);
        }
        var sb = new StringBuilder();
        foreach (var r in results) sb.AppendLine($"{r.Scenario.Name} seed={r.Seed} {r.Overall} {r.HistoryFile}");
        File.WriteAllText(Path.Combine(outDir, "summary.txt"), sb.ToString());
        return results;
    }

    /// <summary>Watch streams the client watchers opened (each beyond a watcher's first is a failover), from their log lines.</summary>
    private static int ClientStreams(List<Op> history) =>
        history.Count(o => o.F == Fn.ClientLog && o.Value?.StartsWith("watch stream #", StringComparison.Ordinal) == true && o.Value.Contains(" opening on ", StringComparison.Ordinal));

    public static async Task<RunResult> RunAsync(Target target, int seed, Scenario scenario, string dir, Action<string> log, CancellationToken ct)
    {
        Directory.CreateDirectory(dir);
        log($"== {scenario.Name} target={target} seed={seed} {scenario.Seconds}s faults={string.Join(",", scenario.Faults)} dir={dir}");
        Recorder rec;
        await using (var cluster = await TestCluster.StartAsync(target, Path.Combine(dir, "cluster"), seed, ct))
        {
            rec = new Recorder();
            var work = new Workloads.Workloads(cluster, rec, seed);
            var append = new Workloads.AppendWorkload(cluster, rec, seed, work.NextProcess);
            var nemesis = new Nemesis(cluster, rec, seed, scenario.Faults) { SafeCompactRevision = () => work.ArchiveLast };
            long finalRev = 0;
            using var archiveStop = new CancellationTokenSource();
            var archive = Task.Run(() => work.WatcherAsync(0, "k", "l", true, false, false, archiveStop.Token, archive: true,
                done: () => Volatile.Read(ref finalRev) > 0 && work.ArchiveLast >= Volatile.Read(ref finalRev)), ct);
            // Client watchers (through src/Client, failing over by themselves): per member one from revision 1 and one
            // from "now", require-leader alternating so every combination runs. Like the archive they run on after the
            // load until they reach the final revision, so the checker can demand the whole committed history of them.
            var clientWatch = new Workloads.ClientWatchWorkload(cluster, rec, work.NextProcess);
            var clientWatchers = Enumerable.Range(0, 3).SelectMany(m => new[] { (m, true, m % 2 == 0), (m, false, m % 2 == 1) })
                .Select(w => Task.Run(() => clientWatch.WatcherAsync(w.Item1, w.Item2, w.Item3, () => Volatile.Read(ref finalRev), archiveStop.Token), ct))
                .ToList();
            // One more from revision 1 whose consumer stalls: suspended and re-created by the client, it meets compaction.
            clientWatchers.Add(Task.Run(() => clientWatch.WatcherAsync(1, true, false, () => Volatile.Read(ref finalRev), archiveStop.Token, stalling: true), ct));
            using (var load = CancellationTokenSource.CreateLinkedTokenSource(ct))
            {
                var tasks = new List<Task>();
                for (int m = 0; m < 3; m++)
                {
                    int mm = m;
                    for (int c = 0; c < 2; c++)
                    {
                        int slot = m * 2 + c;
                        tasks.Add(Task.Run(() => work.ClientAsync(mm, slot, load.Token), ct));
                    }
                    tasks.Add(Task.Run(() => work.WatcherAsync(mm, "k", "l", true, false, false, load.Token, rotate: true), ct));
                    tasks.Add(Task.Run(() => append.ClientAsync(mm, mm, load.Token), ct));
                }
                tasks.Add(Task.Run(() => work.WatcherAsync(1, "k0", "", false, false, true, load.Token), ct));
                tasks.Add(Task.Run(() => work.WatcherAsync(2, "k1", "", true, true, false, load.Token), ct));
                tasks.Add(Task.Run(() => work.WatcherAsync(0, "k", "l", true, false, false, load.Token, rewindMs: 3000), ct));
                var nem = Task.Run(() => nemesis.RunAsync(load.Token), ct);
                await Task.Delay(TimeSpan.FromSeconds(scenario.Seconds), ct);
                load.Cancel();
                await nem;
                await Task.WhenAll(tasks);
            }
            await nemesis.HealAsync();
            try
            {
                await cluster.WaitHealthyAsync(TimeSpan.FromSeconds(60), ct);
                await Task.Delay(500, ct);
                Volatile.Write(ref finalRev, await work.FinalStateAsync(0, ct));
                var watchers = Task.WhenAll([archive, .. clientWatchers]);
                var caught = await Task.WhenAny(watchers, Task.Delay(TimeSpan.FromSeconds(30), ct));
                if (caught != watchers || work.ArchiveLast < finalRev)
                {
                    log($"archive watcher reached {work.ArchiveLast} of {finalRev}; client watchers done: {clientWatchers.Count(t => t.IsCompleted)} of {clientWatchers.Count}");
                }
            }
            catch (Exception e) when (e is TimeoutException or Cairn.Protocol.RpcException)
            {
                // Recorded, so the run reports it: the cluster did not come back after every fault was healed.
                rec.Add(new Op { Process = -2, Type = OpType.Info, F = Fn.Nemesis, Key = Nemesis.Note, Value = "cluster did not recover after healing", Error = e.Message });
                log($"cluster did not recover: {e.Message}");
            }
            archiveStop.Cancel();
            try { await archive; } catch (OperationCanceledException) { }
            await Task.WhenAll(clientWatchers);
        }
        var history = rec.Snapshot();
        var path = Path.Combine(dir, "history.jsonl");
        HistoryFile.Write(path, history);
        var results = Checker.CheckAll(history);
        var overall = Checker.Overall(results);
        int Count(string type) => history.Count(o => o.F is Fn.Read or Fn.Write or Fn.Cas && o.Type == type);
        int Txns(string type) => history.Count(o => o.F == Fn.Txn && o.Type == type);
        var counts = $"ops: {Count(OpType.Invoke)} invoked, {Count(OpType.Ok)} ok, {Count(OpType.Fail)} fail, {Count(OpType.Info)} info; " +
            $"txns: {Txns(OpType.Invoke)} invoked, {history.Count(o => o.F == Fn.Txn && o.Succeeded == true)} appended, {history.Count(o => o.F == Fn.Txn && o.Succeeded == false)} compare failed, {Txns(OpType.Info)} info; " +
            $"watch: {history.Count(o => o.F == Fn.WatchEvent)} event responses, {history.Count(o => o.F == Fn.Progress)} progress, {history.Count(o => o.F == Fn.WatchStart)} sessions; " +
            $"client watch: {history.Count(o => o.F == Fn.WatchStart && o.Client == true)} sessions, {ClientStreams(history)} streams opened; " +
            $"faults: {history.Count(o => o.F == Fn.Nemesis && o.Type == OpType.Invoke)}, replacements: {history.Count(o => o.F == Fn.Nemesis && o.Type == OpType.Ok && o.Value?.StartsWith("replaced ", StringComparison.Ordinal) == true)}";
        var sb = new StringBuilder();
        sb.AppendLine($"scenario {scenario.Name}  target {target}  seed {seed}  duration {scenario.Seconds}s  faults {string.Join(",", scenario.Faults)}");
        sb.AppendLine($"verdict: {overall}");
        sb.AppendLine(counts);
        sb.AppendLine($"history: {path}");
        sb.AppendLine($"replay: dotnet run --project tests/jepsen-lite -- --target {target.ToString().ToLowerInvariant()} --profile {(scenario.Name.StartsWith("long-", StringComparison.Ordinal) ? "long" : "short")} --seed {seed} --scenario {scenario.Name} --seconds {scenario.Seconds}  (in a full profile run scenario i uses --seed + i)");
        sb.AppendLine("nemesis schedule:");
        foreach (var n in history.Where(o => o.F == Fn.Nemesis && (o.Type == OpType.Invoke || o.Key == Nemesis.Note)))
        {
            sb.AppendLine($"  {n.TimeNs / 1e9:0.0}s {(n.Key == Nemesis.Note ? "  " : "")}{n.Value}{(n.Error != null ? " — " + n.Error : "")}");
        }
        foreach (var r in results) sb.AppendLine(r.ToString());
        File.WriteAllText(Path.Combine(dir, "report.txt"), sb.ToString());
        File.WriteAllText(Path.Combine(dir, "latency.svg"), Svg.Latency(history, $"{scenario.Name} ({target}, seed {seed}) — {overall}"));
        return new RunResult(scenario, seed, dir, path, results, overall, sb.ToString());
    }
}
