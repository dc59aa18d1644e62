using System.Diagnostics;
using Cairn.Tests.Shared;

namespace Cairn.Client.Tests.Infra;

/// <summary>
/// A real 3-member etcd 3.4 in a unique dir, started with the flags of the shared tool
/// (/work/shared/tools/etcd-cluster.sh) but on free loopback ports, so a leftover cluster from an
/// aborted run (the tool's fixed ports 22379..22580) cannot break this one. Dispose resumes paused
/// members, stops every member and removes the dir. With a peer proxy each member advertises a
/// <see cref="PeerFaultProxy"/> port in front of its peer port, so a test can cut one member from
/// the others (<see cref="Isolate"/>).
/// </summary>
public sealed class EtcdCluster : TestCluster
{
    private readonly string _dir;
    private readonly int[] _pids = new int[3];
    private readonly int[] _clientPorts = [TestPorts.Free(), TestPorts.Free(), TestPorts.Free()];
    private readonly int[] _peerPorts = [TestPorts.Free(), TestPorts.Free(), TestPorts.Free()];
    private readonly int[] _advertisedPeerPorts;
    private readonly ulong[] _memberIds = new ulong[3];
    private readonly PeerFaultProxy? _proxy;

    private EtcdCluster(string dir, bool peerProxy)
    {
        _dir = dir;
        _proxy = peerProxy ? new PeerFaultProxy() : null;
        _advertisedPeerPorts = _peerPorts.ToArray();
        Endpoints = _clientPorts.Select(port => $"http://127.0.0.1:{port}").ToArray();
    }

    public override string Name => "etcd";

    public override IReadOnlyList<string> Endpoints { get; }

    public override int Pid(int index) => _pids[index];

    public override bool CanPartition => _proxy != null;

    /// <summary>Starts the cluster; <paramref name="peerProxy"/> routes peer links through a fault proxy (see <see cref="Isolate"/>).</summary>
    public static async Task<EtcdCluster> StartAsync(bool peerProxy = false)
    {
        var cluster = new EtcdCluster(RepoPaths.TempDir("cairn-client-etcd3"), peerProxy);
        try
        {
            if (cluster._proxy is { } proxy)
            {
                for (var i = 0; i < 3; i++)
                {
                    cluster._advertisedPeerPorts[i] = proxy.AddRoute(cluster._peerPorts[i]);
                }
            }
            for (var i = 0; i < 3; i++)
            {
                cluster.Start(i, ".log");
            }
            await WaitHealthyAsync(cluster.Endpoints, TimeSpan.FromSeconds(30), cluster.Logs);
            if (cluster._proxy is { } routes)
            {
                // etcd's member ids exist only once it runs; pipeline requests do not name their target, the route does.
                await using var admin = new EtcdClient(cluster.Endpoints.ToArray());
                for (var i = 0; i < 3; i++)
                {
                    cluster._memberIds[i] = (await admin.StatusAsync(cluster.Endpoints[i])).Header.MemberId;
                    routes.SetTarget(cluster._advertisedPeerPorts[i], cluster._memberIds[i]);
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

    /// <summary>Starts member <paramref name="index"/> again on its data dir (after a kill), as the script started it.</summary>
    public override void Restart(int index) => Start(index, ".restarted.log");

    /// <summary>Cuts member <paramref name="index"/> from both peers, both ways (live links are reset at once).</summary>
    public override void Isolate(int index) =>
        (_proxy ?? throw new InvalidOperationException("started without the peer proxy")).Isolate(_memberIds[index], _memberIds);

    /// <summary>Lets every peer link through again.</summary>
    public override void Heal() => _proxy?.HealAll();

    /// <summary>Starts member <paramref name="index"/> with the script's flags (peer URLs advertised through the proxy when there is one).</summary>
    private void Start(int index, string logSuffix)
    {
        var n = index + 1;
        int c = _clientPorts[index], p = _peerPorts[index];
        var initial = string.Join(",", _advertisedPeerPorts.Select((port, i) => $"e{i + 1}=http://127.0.0.1:{port}"));
        var (process, _) = ChildProcesses.Start("etcd",
        [
            "--name", $"e{n}", "--data-dir", Path.Combine(_dir, $"e{n}"),
            "--listen-client-urls", $"http://127.0.0.1:{c}", "--advertise-client-urls", $"http://127.0.0.1:{c}",
            "--listen-peer-urls", $"http://127.0.0.1:{p}", "--initial-advertise-peer-urls", $"http://127.0.0.1:{_advertisedPeerPorts[index]}",
            "--initial-cluster", initial, "--initial-cluster-state", "new", "--initial-cluster-token", "bench",
            "--logger", "zap", "--log-outputs", Path.Combine(_dir, $"e{n}{logSuffix}"),
        ], _dir);
        _pids[index] = process.Id;
    }

    public string Logs()
    {
        try
        {
            return string.Join("\n", Directory.GetFiles(_dir, "*.log").Select(f => f + ":\n" + string.Join("\n", File.ReadLines(f).TakeLast(15))));
        }
        catch (Exception e)
        {
            return e.Message;
        }
    }

    public override async ValueTask DisposeAsync()
    {
        if (_proxy != null)
        {
            await _proxy.DisposeAsync();
        }
        // A stopped (SIGSTOP) process ignores SIGTERM until continued.
        foreach (var pid in _pids.Where(p => p > 0))
        {
            try
            {
                ChildProcesses.Signal(pid, "CONT");
            }
            catch (Exception)
            {
                // Already dead.
            }
        }
        foreach (var pid in _pids.Where(p => p > 0))
        {
            try
            {
                ChildProcesses.Signal(pid, "TERM");
            }
            catch (Exception)
            {
                // Already dead.
            }
        }
        await Task.Delay(300);
        foreach (var pid in _pids.Where(p => p > 0))
        {
            try
            {
                using var p = Process.GetProcessById(pid);
                if (p.ProcessName.Contains("etcd", StringComparison.Ordinal))
                {
                    p.Kill();
                    p.WaitForExit(5000);
                }
            }
            catch (Exception)
            {
                // Gone.
            }
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
