using System.Diagnostics;
using Cairn.Tests.Shared;

namespace Cairn.Client.Tests.Infra;

/// <summary>
/// The shared tool's real 3-member etcd 3.4 (/work/shared/tools/etcd-cluster.sh) in a unique dir.
/// Its ports are fixed (clients 22379/22479/22579, peers 22380/22480/22580), so start fails
/// clearly when another run holds them. Dispose resumes paused members, stops every member and
/// removes the dir. With a peer proxy the members are started here instead, with the same flags
/// but advertising a <see cref="PeerFaultProxy"/> port in front of each peer port, so a test can
/// cut one member from the others (<see cref="Isolate"/>).
/// </summary>
public sealed class EtcdCluster : TestCluster
{
    public const string Script = "/work/shared/tools/etcd-cluster.sh";
    private static readonly int[] Ports = [22379, 22380, 22479, 22480, 22579, 22580];
    private readonly string _dir;
    private readonly int[] _pids = new int[3];
    private readonly int[] _advertisedPeerPorts = [22380, 22480, 22580];
    private readonly ulong[] _memberIds = new ulong[3];
    private readonly PeerFaultProxy? _proxy;

    private EtcdCluster(string dir, bool peerProxy)
    {
        _dir = dir;
        _proxy = peerProxy ? new PeerFaultProxy() : null;
    }

    public override string Name => "etcd";

    public override IReadOnlyList<string> Endpoints { get; } = ["http://127.0.0.1:22379", "http://127.0.0.1:22479", "http://127.0.0.1:22579"];

    public override int Pid(int index) => _pids[index];

    public override bool CanPartition => _proxy != null;

    /// <summary>Starts the cluster; <paramref name="peerProxy"/> routes peer links through a fault proxy (see <see cref="Isolate"/>).</summary>
    public static async Task<EtcdCluster> StartAsync(bool peerProxy = false)
    {
        var busy = Ports.Where(TestPorts.InUse).ToList();
        if (busy.Count > 0)
        {
            throw new InvalidOperationException(
                $"etcd cluster ports {string.Join(",", busy)} are in use (another run of {Script}?); stop it (`{Script} stop DIR`) and retry.");
        }
        var cluster = new EtcdCluster(RepoPaths.TempDir("cairn-client-etcd3"), peerProxy);
        try
        {
            if (cluster._proxy is { } proxy)
            {
                for (var i = 0; i < 3; i++)
                {
                    cluster._advertisedPeerPorts[i] = proxy.AddRoute(22380 + i * 100);
                }
                for (var i = 0; i < 3; i++)
                {
                    cluster.Start(i, ".log");
                }
            }
            else
            {
                var (code, output) = await RunScriptAsync("start", cluster._dir);
                if (code != 0)
                {
                    throw new InvalidOperationException($"{Script} start failed ({code}): {output}\n{cluster.Logs()}");
                }
                for (var i = 0; i < 3; i++)
                {
                    cluster._pids[i] = int.Parse(File.ReadAllText(Path.Combine(cluster._dir, $"e{i + 1}.pid")).Trim());
                }
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
        int c = 22279 + n * 100, p = 22280 + n * 100;
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

    private static async Task<(int, string)> RunScriptAsync(string command, string dir)
    {
        var info = new ProcessStartInfo("bash", [Script, command, dir]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(cts.Token);
        return (process.ExitCode, await stdout + await stderr);
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
        try
        {
            await RunScriptAsync("stop", _dir);
        }
        catch (Exception)
        {
            // Fall through to kill -9.
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
