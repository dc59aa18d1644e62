using System.Diagnostics;
using System.Text.RegularExpressions;
using Cairn.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace Cairn.IntegrationTests.Cluster;

/// <summary>Backup and restore: <c>etcdctl snapshot save</c> from Cairn, <c>cairn snapshot restore</c> into a new cluster.</summary>
[Collection(ClusterCollection.Name)]
public sealed class SnapshotRestore(ITestOutputHelper output) : ClusterTestBase(output)
{
    /// <summary>
    /// Save from a 3-member cluster holding data (puts, overwrites, deletes, a compaction), restore into three new data
    /// dirs, start them as a new cluster: the keys come back at their revisions, new writes continue after the saved
    /// revision, the cluster id is new. A corrupted file is refused and writes no data dir.
    /// </summary>
    [Fact(Timeout = 240_000)]
    public Task SaveFromThreeMembersRestoreIntoANewCluster() =>
        WithClusterAsync(new CairnClusterOptions(), TimeSpan.FromSeconds(210), async (cluster, ct) =>
        {
            var old = cluster.Nodes.ToList();
            var oldClusterId = (await old[0].StatusAsync()).Header.ClusterId;
            for (var i = 0; i < 50; i++)
                await old[i % 3].PutAsync($"r/k{i:D2}", $"v{i}");
            await old[0].PutAsync("r/k07", "overwritten");
            await old[1].Channel.UnaryAsync("/etcdserverpb.KV/DeleteRange",
                new Etcdserverpb.DeleteRangeRequest { Key = Google.Protobuf.ByteString.CopyFromUtf8("r/k13") },
                Etcdserverpb.DeleteRangeResponse.Parser, deadline: DateTime.UtcNow + TimeSpan.FromSeconds(10));
            await old[2].CompactAsync(10);
            var last = await old[0].PutAsync("r/last", "x");
            var expected = await old[0].RangeAsync("r/", "r0");
            Log($"old cluster {oldClusterId:x16}: {expected.Kvs.Count} keys, revision {last.Header.Revision}");

            var file = Path.Combine(cluster.Root, "backup.db");
            var save = await old[1].Etcdctl.RunAsync(["snapshot", "save", file], timeout: TimeSpan.FromSeconds(60));
            Assert.True(save.Succeeded, $"etcdctl snapshot save: {save.StderrText}{save.StdoutText}");
            foreach (var node in old)
                await node.KillAsync();

            var restored = new[] { cluster.CreateNode("r1"), cluster.CreateNode("r2"), cluster.CreateNode("r3") };
            var initialCluster = cluster.InitialCluster(restored);
            const string Token = "restored-cluster";
            List<string> Flags(CairnNode node)
            {
                var flags = cluster.FlagsFor(node, initialCluster, "new");
                flags[flags.IndexOf("--initial-cluster-token") + 1] = Token;
                return flags;
            }

            // A corrupted copy is refused before anything is written.
            var corrupt = Path.Combine(cluster.Root, "corrupt.db");
            var bytes = await File.ReadAllBytesAsync(file, ct);
            bytes[bytes.Length / 2] ^= 0x40;
            await File.WriteAllBytesAsync(corrupt, bytes, ct);
            var refused = await RunCairnAsync(cluster, ["snapshot", "restore", corrupt, "--name", "r1", "--data-dir", restored[0].DataDir,
                "--initial-cluster", initialCluster, "--initial-advertise-peer-urls", restored[0].PeerUrl, "--initial-cluster-token", Token]);
            Assert.True(refused.ExitCode == 1 && refused.Output.Contains("checksum", StringComparison.OrdinalIgnoreCase), $"restore of a corrupt file: exit {refused.ExitCode}: {refused.Output}");
            Assert.False(Directory.Exists(restored[0].DataDir));

            foreach (var node in restored)
                await RestoreAsync(cluster, file, node, initialCluster, Token);

            var again = await RunCairnAsync(cluster, ["snapshot", "restore", file, "--name", "r1", "--data-dir", restored[0].DataDir,
                "--initial-cluster", initialCluster, "--initial-advertise-peer-urls", restored[0].PeerUrl, "--initial-cluster-token", Token]);
            Assert.True(again.ExitCode != 0 && again.Output.Contains("exists", StringComparison.Ordinal), $"restore over an existing data dir: {again.Output}");

            foreach (var node in restored)
            {
                node.Flags = Flags(node);
                node.Start();
            }
            foreach (var node in restored)
                await node.WaitReadyAsync(TimeSpan.FromSeconds(60));

            var status = await restored[0].StatusAsync();
            Assert.NotEqual(oldClusterId, status.Header.ClusterId);
            var got = await restored[2].RangeAsync("r/", "r0");
            Assert.Equal(expected.Header.Revision, got.Header.Revision);
            Assert.Equal(expected.Kvs, got.Kvs); // keys, values, create/mod revisions, versions
            var put = await restored[1].PutAsync("r/new", "after restore");
            Assert.Equal(last.Header.Revision + 1, put.Header.Revision);
            Assert.Equal(status.Header.ClusterId, put.Header.ClusterId);
            await cluster.WaitForEqualHashKVAsync(restored, TimeSpan.FromSeconds(60));
            Log($"new cluster {status.Header.ClusterId:x16} (old {oldClusterId:x16}): {got.Kvs.Count} keys at revision {got.Header.Revision}; the next put got revision {put.Header.Revision}");
        });

    /// <summary>
    /// Leases and auth are in the saved file and come back: a one-member cluster with a short and a long lease (each
    /// holding a key) and auth enabled with a root user is saved, restored into a new member and started. Without
    /// credentials the new member refuses a read, with root's it serves it; both leases exist with their granted TTLs
    /// and keys; the short one expires its key about its TTL after the new member leads, the long one keeps its key.
    /// </summary>
    [Fact(Timeout = 240_000)]
    public Task LeasesAndAuthComeBackAndRestoredLeasesExpire() =>
        WithClusterAsync(new CairnClusterOptions { Size = 1 }, TimeSpan.FromSeconds(210), async (cluster, ct) =>
        {
            const int ShortTtl = 20;
            var old = cluster.Nodes[0];
            var shortLease = await GrantAsync(old.Etcdctl, ShortTtl);
            var longLease = await GrantAsync(old.Etcdctl, 3600);
            await EtcdctlAsync(old.Etcdctl, ["put", "l/short", "s", $"--lease={shortLease}"]);
            await EtcdctlAsync(old.Etcdctl, ["put", "l/long", "l", $"--lease={longLease}"]);
            await EtcdctlAsync(old.Etcdctl, ["put", "l/plain", "p"]);
            await EtcdctlAsync(old.Etcdctl, ["user", "add", "root:rootpw", "--interactive=false"]);
            await EtcdctlAsync(old.Etcdctl, ["auth", "enable"]);
            var file = Path.Combine(cluster.Root, "backup.db");
            await EtcdctlAsync(old.Etcdctl, ["snapshot", "save", file, "--user=root:rootpw"], TimeSpan.FromSeconds(60));
            await old.KillAsync();

            var node = cluster.CreateNode("r1");
            var initialCluster = cluster.InitialCluster([node]);
            await RestoreAsync(cluster, file, node, initialCluster, cluster.Token);
            node.Flags = cluster.FlagsFor(node, initialCluster, "new");
            node.Start();
            await node.WaitReadyAsync(TimeSpan.FromSeconds(60));
            // The restored lease's clock started no earlier than this (when the member began leading).
            var led = Stopwatch.StartNew();

            var anonymous = await node.Etcdctl.RunAsync(["get", "l/plain"]);
            Assert.False(anonymous.Succeeded, $"a read without credentials after restore: {anonymous.StdoutText}{anonymous.StderrText}");
            Log($"without credentials: {anonymous.StderrText.Trim()}");
            var wrong = await node.Etcdctl.RunAsync(["get", "l/plain", "--user=root:wrong"]);
            Assert.False(wrong.Succeeded, $"a read with a wrong password after restore: {wrong.StdoutText}");
            string[] root = ["--user=root:rootpw"];
            Assert.Equal("l/plain\np\n", await EtcdctlAsync(node.Etcdctl, ["get", "l/plain", .. root]));

            var leases = await EtcdctlAsync(node.Etcdctl, ["lease", "list", .. root]);
            Assert.Contains(shortLease, leases, StringComparison.Ordinal);
            Assert.Contains(longLease, leases, StringComparison.Ordinal);
            var ttl = await EtcdctlAsync(node.Etcdctl, ["lease", "timetolive", shortLease, "--keys", .. root]);
            Assert.Contains($"granted with TTL({ShortTtl}s)", ttl, StringComparison.Ordinal);
            Assert.Contains("attached keys([l/short])", ttl, StringComparison.Ordinal);
            Log($"restored: {ttl.Trim()}");

            // The short lease expires its key about its TTL after the member began leading; with a margin for a loaded machine.
            while (await EtcdctlAsync(node.Etcdctl, ["get", "l/short", "--print-value-only", .. root]) != "")
            {
                Assert.True(led.Elapsed < TimeSpan.FromSeconds(ShortTtl + 60), $"l/short still there {led.Elapsed.TotalSeconds:0} s after the restored member led");
                await Task.Delay(500, ct);
            }
            Log($"l/short expired {led.Elapsed.TotalSeconds:0.0} s after the restored member was ready (TTL {ShortTtl} s)");
            Assert.True(led.Elapsed > TimeSpan.FromSeconds(ShortTtl / 2), "the restored lease expired far too early: its clock must start anew");
            Assert.Contains("already expired", await EtcdctlAsync(node.Etcdctl, ["lease", "timetolive", shortLease, .. root]), StringComparison.Ordinal);
            Assert.Equal("l\n", await EtcdctlAsync(node.Etcdctl, ["get", "l/long", "--print-value-only", .. root]));
        });

    // Runs etcdctl and asserts it succeeded; returns stdout.
    private static async Task<string> EtcdctlAsync(Etcdctl etcdctl, IReadOnlyList<string> args, TimeSpan? timeout = null)
    {
        var result = await etcdctl.RunAsync(args, timeout: timeout ?? TimeSpan.FromSeconds(30));
        Assert.True(result.Succeeded, $"etcdctl {string.Join(' ', args)}: {result.End} {result.ExitCode}: {result.StderrText}{result.StdoutText}");
        return result.StdoutText;
    }

    // "lease 694d7b5f0a8b8a12 granted with TTL(20s)" -> the hex id.
    private static async Task<string> GrantAsync(Etcdctl etcdctl, int ttl)
    {
        var output = await EtcdctlAsync(etcdctl, ["lease", "grant", ttl.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        var match = Regex.Match(output, "^lease ([0-9a-f]+) granted", RegexOptions.CultureInvariant);
        Assert.True(match.Success, $"lease grant printed: {output}");
        return match.Groups[1].Value;
    }

    private async Task RestoreAsync(CairnCluster cluster, string file, CairnNode node, string initialCluster, string token)
    {
        var result = await RunCairnAsync(cluster, ["snapshot", "restore", file, "--name", node.Name, "--data-dir", node.DataDir,
            "--initial-cluster", initialCluster, "--initial-advertise-peer-urls", node.PeerUrl, "--initial-cluster-token", token]);
        Assert.True(result.ExitCode == 0, $"restore {node.Name}: exit {result.ExitCode}: {result.Output}");
        Log(result.Output.Trim());
    }

    private static Task<(int ExitCode, string Output)> RunCairnAsync(CairnCluster cluster, IEnumerable<string> args) =>
        RunProcessAsync(Tools.Dotnet, [cluster.Dll, .. args], TimeSpan.FromSeconds(60));
}
