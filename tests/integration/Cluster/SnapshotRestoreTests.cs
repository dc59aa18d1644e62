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
            {
                var result = await RunCairnAsync(cluster, ["snapshot", "restore", file, "--name", node.Name, "--data-dir", node.DataDir,
                    "--initial-cluster", initialCluster, "--initial-advertise-peer-urls", node.PeerUrl, "--initial-cluster-token", Token]);
                Assert.True(result.ExitCode == 0, $"restore {node.Name}: exit {result.ExitCode}: {result.Output}");
                Log(result.Output.Trim());
            }

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

    private static Task<(int ExitCode, string Output)> RunCairnAsync(CairnCluster cluster, IEnumerable<string> args) =>
        RunProcessAsync(Tools.Dotnet, [cluster.Dll, .. args], TimeSpan.FromSeconds(60));
}
