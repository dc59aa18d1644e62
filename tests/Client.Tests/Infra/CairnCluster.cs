using System.Diagnostics;
using System.Text;
using Cairn.Tests.Shared;

namespace Cairn.Client.Tests.Infra;

/// <summary>
/// Three Cairn members (<c>dotnet cairn.dll … --initial-cluster</c>) on free loopback ports in a temp dir,
/// optionally with their peer links through a <see cref="PeerFaultProxy"/> (each member advertises the
/// proxy's port and listens on its own), so a test can cut a member from its peers without killing it.
/// </summary>
public sealed class CairnCluster : TestCluster
{
    private readonly string _dir;
    private readonly PeerFaultProxy? _proxy;
    private readonly ulong[] _memberIds = new ulong[3];
    private readonly List<(Process Process, StringBuilder Output)> _members = new();
    private readonly List<string> _endpoints = new();
    private readonly List<List<string>> _args = new();

    private CairnCluster(string dir, bool peerProxy)
    {
        _dir = dir;
        _proxy = peerProxy ? new PeerFaultProxy() : null;
    }

    public override string Name => "cairn";

    public override IReadOnlyList<string> Endpoints => _endpoints;

    public override int Pid(int index) => _members[index].Process.Id;

    public override bool CanPartition => _proxy != null;

    /// <summary>Starts the cluster; <paramref name="peerProxy"/> routes peer links through a fault proxy (see <see cref="Isolate"/>).</summary>
    public static async Task<CairnCluster> StartAsync(bool peerProxy = false)
    {
        var cluster = new CairnCluster(RepoPaths.TempDir("cairn-client-cairn3"), peerProxy);
        try
        {
            var client = Enumerable.Range(0, 3).Select(_ => TestPorts.Free()).ToArray();
            var peer = Enumerable.Range(0, 3).Select(_ => TestPorts.Free()).ToArray();
            var advertised = peer.Select(p => cluster._proxy?.AddRoute(p) ?? p).ToArray();
            var initial = string.Join(",", Enumerable.Range(0, 3).Select(i => $"c{i + 1}=http://127.0.0.1:{advertised[i]}"));
            for (var i = 0; i < 3; i++)
            {
                cluster._endpoints.Add($"http://127.0.0.1:{client[i]}");
                cluster._args.Add(
                [
                    RepoPaths.CairnDll, "--name", $"c{i + 1}", "--data-dir", Path.Combine(cluster._dir, $"c{i + 1}"),
                    "--listen-client-urls", $"http://127.0.0.1:{client[i]}", "--advertise-client-urls", $"http://127.0.0.1:{client[i]}",
                    "--listen-peer-urls", $"http://127.0.0.1:{peer[i]}", "--initial-advertise-peer-urls", $"http://127.0.0.1:{advertised[i]}",
                    "--initial-cluster", initial, "--initial-cluster-state", "new", "--initial-cluster-token", "client-tests",
                ]);
                cluster._members.Add(ChildProcesses.Start("dotnet", cluster._args[i], cluster._dir));
            }
            await WaitHealthyAsync(cluster.Endpoints, TimeSpan.FromSeconds(40), cluster.Logs);
            if (cluster._proxy != null)
            {
                // The proxy tells links apart by the member ids in Cairn's peer preamble.
                await using var admin = new EtcdClient(cluster.Endpoints.ToArray());
                for (var i = 0; i < 3; i++)
                {
                    cluster._memberIds[i] = (await admin.StatusAsync(cluster.Endpoints[i])).Header.MemberId;
                }
            }
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>Cuts member <paramref name="index"/> from both peers, both ways (live links are reset at once).</summary>
    public override void Isolate(int index) =>
        (_proxy ?? throw new InvalidOperationException("started without the peer proxy")).Isolate(_memberIds[index], _memberIds);

    /// <summary>Lets every peer link through again.</summary>
    public override void Heal() => _proxy?.HealAll();

    public override void Restart(int index) => _members[index] = ChildProcesses.Start("dotnet", _args[index], _dir);

    public string Logs() => string.Join("\n", _members.Select((m, i) =>
    {
        lock (m.Output)
        {
            var text = m.Output.ToString();
            return $"c{i + 1}:\n" + string.Join("\n", text.Split('\n').TakeLast(15));
        }
    }));

    public override async ValueTask DisposeAsync()
    {
        if (_proxy != null)
        {
            await _proxy.DisposeAsync();
        }
        foreach (var (process, _) in _members)
        {
            try
            {
                ChildProcesses.Signal(process.Id, "CONT");
            }
            catch (Exception)
            {
                // Already dead.
            }
            ChildProcesses.Kill(process);
        }
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (Exception)
        {
            // Best effort.
        }
    }
}
