using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using Cairn.IntegrationTests.Differential;
using Cairn.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace Cairn.IntegrationTests.Cluster;

/// <summary>The differential idea on clusters: the same etcdctl session against three etcd members and three Cairn members.</summary>
[Collection(ClusterCollection.Name)]
public sealed class DifferentialCluster(ITestOutputHelper output) : ClusterTestBase(output)
{

    private static readonly (int Member, string[] Args, string? Stdin)[] Session =
    [
        (0, ["put", "a", "1", "-w", "json"], null),
        (1, ["put", "b", "2", "-w", "json"], null),
        (2, ["get", "a", "-w", "json"], null),
        (0, ["put", "a", "11", "--prev-kv", "-w", "json"], null),
        (1, ["get", "a", "z", "-w", "json"], null),
        (2, ["txn", "-w", "json"], "value(\"a\") = \"11\"\n\nput c 3\nget a\n\nput c 4\n\n"),
        (0, ["txn", "-w", "json"], "value(\"a\") = \"nope\"\n\nput d 5\n\nput d 6\ndel b\n\n"),
        (1, ["get", "", "--prefix", "-w", "json"], null),
        (2, ["del", "c", "--prev-kv", "-w", "json"], null),
        (0, ["get", "a", "--rev", "2", "-w", "json"], null),
        (1, ["compaction", "4"], null),
        (2, ["get", "a", "--rev", "2", "-w", "json"], null),
        (0, ["get", "a", "--rev", "4", "-w", "json"], null),
        (1, ["del", "", "--prefix", "-w", "json"], null),
        (2, ["get", "", "--prefix", "--keys-only", "-w", "json"], null),
        (0, ["put", "e", "7", "-w", "json"], null),
        (1, ["get", "e", "-w", "json"], null),
    ];

    /// <summary>
    /// 8. put/get/txn/del/compaction with <c>-w json</c>, spread over the three members of each cluster: Cairn's output
    /// equals etcd's after masking cluster_id/member_id/raft_term (Differential/Masking.cs). The etcd cluster is started
    /// here with the flags of the shared tool (/work/shared/tools/etcd-cluster.sh) but on free ports, so a leftover
    /// cluster on the tool's fixed ports cannot stop the comparison.
    /// </summary>
    [Fact(Timeout = 300_000)]
    public async Task EtcdctlSessionMatchesRealEtcdCluster()
    {
        var dir = Path.Combine(MemberProcess.ScratchRoot.Value, $"cairn-it-etcd-cluster-{Guid.NewGuid():N}");
        var clientPorts = new[] { FreePort.Next(), FreePort.Next(), FreePort.Next() };
        var peerPorts = new[] { FreePort.Next(), FreePort.Next(), FreePort.Next() };
        var initial = string.Join(",", peerPorts.Select((port, i) => $"e{i + 1}=http://127.0.0.1:{port}"));
        var etcds = new List<Process>();
        var logs = new StringBuilder();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                var client = $"http://127.0.0.1:{clientPorts[i]}";
                var peer = $"http://127.0.0.1:{peerPorts[i]}";
                var info = new ProcessStartInfo(Tools.Etcd)
                {
                    RedirectStandardOutput = true,
                    RedirectStandardError = true,
                    UseShellExecute = false,
                    WorkingDirectory = MemberProcess.ScratchRoot.Value,
                };
                foreach (var arg in (string[])["--name", $"e{i + 1}", "--data-dir", Path.Combine(dir, $"e{i + 1}"),
                    "--listen-client-urls", client, "--advertise-client-urls", client,
                    "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                    "--initial-cluster", initial, "--initial-cluster-state", "new", "--initial-cluster-token", "bench"])
                {
                    info.ArgumentList.Add(arg);
                }
                ChildProcesses.ScrubEnvironment(info);
                var process = ChildProcesses.Start(info);
                // etcd logs to stderr; keep the tail for a failure message and never let a full pipe block it.
                process.OutputDataReceived += (_, e) => { lock (logs) logs.AppendLine(e.Data); };
                process.ErrorDataReceived += (_, e) => { lock (logs) logs.AppendLine(e.Data); };
                process.BeginOutputReadLine();
                process.BeginErrorReadLine();
                etcds.Add(process);
            }
            var endpoints = string.Join(",", clientPorts.Select(port => $"127.0.0.1:{port}"));
            var healthy = Stopwatch.StartNew();
            while (!(await new Etcdctl(endpoints).RunAsync(["endpoint", "health", "--command-timeout=2s"], timeout: TimeSpan.FromSeconds(10))).Succeeded)
            {
                if (healthy.Elapsed > TimeSpan.FromSeconds(60) || etcds.Any(p => p.HasExited))
                {
                    string tail;
                    lock (logs)
                        tail = string.Join('\n', logs.ToString().Split('\n').TakeLast(40));
                    throw new InvalidOperationException($"the real etcd cluster did not become healthy on {endpoints}:\n{tail}");
                }
                await Task.Delay(200);
            }
            Log($"real etcd 3-member cluster up on {endpoints}");

            await WithClusterAsync(new CairnClusterOptions(), TimeSpan.FromSeconds(150), async (cluster, ct) =>
            {
                var diffs = new List<string>();
                foreach (var (member, args, stdin) in Session)
                {
                    var etcdEndpoint = $"127.0.0.1:{clientPorts[member]}";
                    var cairnEndpoint = cluster.Nodes[member].ClientEndpoint;
                    var input = stdin is null ? null : Encoding.UTF8.GetBytes(stdin);
                    var etcd = Render(await new Etcdctl(etcdEndpoint).RunAsync(args, input, cancellationToken: ct), etcdEndpoint);
                    var cairn = Render(await new Etcdctl(cairnEndpoint).RunAsync(args, input, cancellationToken: ct), cairnEndpoint);
                    var line = $"member {member + 1}: etcdctl {string.Join(' ', args)}";
                    if (etcd == cairn)
                    {
                        Output.WriteLine($"same  {line}\n      {etcd.Replace("\n", "\n      ", StringComparison.Ordinal)}");
                    }
                    else
                    {
                        diffs.Add($"{line}\n  etcd:  {etcd}\n  cairn: {cairn}");
                        Output.WriteLine($"DIFF  {line}\n  etcd:  {etcd}\n  cairn: {cairn}");
                    }
                }
                Assert.True(diffs.Count == 0, $"{diffs.Count} of {Session.Length} commands differ:\n{string.Join("\n", diffs)}");
            });
        }
        finally
        {
            foreach (var process in etcds)
            {
                await ChildProcesses.KillAndWaitAsync(process);
            }
            try
            {
                Directory.Delete(dir, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
        }
    }

    private static string Render(CommandResult r, string endpoint) =>
        $"exit {r.ExitCode?.ToString() ?? r.End.ToString()} | stdout {Masking.Apply(r.StdoutText, endpoint).TrimEnd()} | stderr {Masking.Apply(r.StderrText, endpoint).TrimEnd()}";
}
