using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Cairn.Grpc.Client;
using Etcdserverpb;

namespace Cairn.JepsenLite.Cluster;

public enum Target { Cairn, Etcd }

/// <summary>One member process (Cairn or etcd) on loopback; can be killed, paused and restarted on its data dir.</summary>
public sealed class Member
{
    private Process? _process;

    /// <summary>Slot of the member in the cluster (stays the same when the member is replaced).</summary>
    public required int Index { get; init; }
    /// <summary>Member name; a replacement gets a fresh one.</summary>
    public required string Name { get; set; }
    /// <summary>Real client port (the admin channel talks to it directly).</summary>
    public required int ClientPort { get; init; }
    /// <summary>Client proxy port: the advertised client URL, which every workload client uses.</summary>
    public required int ClientProxyPort { get; init; }
    /// <summary>Real peer port.</summary>
    public required int PeerPort { get; init; }
    /// <summary>Peer proxy port: the advertised peer URL; a replacement gets a new one (a new peer URL, a new member id).</summary>
    public required int ProxyPort { get; set; }
    public required string DataDir { get; init; }
    public required string LogFile { get; init; }
    /// <summary>Command-line arguments of the next start.</summary>
    public required List<string> Args { get; set; }
    public required (string File, List<string> Prefix) Command { get; init; }
    public ulong Id { get; set; }
    public bool Paused { get; set; }
    /// <summary>How often this slot's member was replaced.</summary>
    public int Generation { get; set; }
    /// <summary>Client URL through the fault proxy.</summary>
    public string Endpoint => $"http://127.0.0.1:{ClientProxyPort}";
    /// <summary>Direct client URL, for the harness's own control calls (status, compaction, membership).</summary>
    public string AdminEndpoint => $"http://127.0.0.1:{ClientPort}";
    public string PeerUrl => $"http://127.0.0.1:{ProxyPort}";
    public bool Running => _process is { HasExited: false };
    public int? Pid => _process is { HasExited: false } p ? p.Id : null;

    public void Start()
    {
        var psi = new ProcessStartInfo(Command.File) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in Command.Prefix.Concat(Args)) psi.ArgumentList.Add(a);
        var p = Process.Start(psi)!;
        var log = new StreamWriter(LogFile, append: true) { AutoFlush = true };
        var gate = new Lock();
        void Line(string? s)
        {
            if (s == null) return;
            lock (gate) log.WriteLine(s);
        }
        p.OutputDataReceived += (_, e) => Line(e.Data);
        p.ErrorDataReceived += (_, e) => Line(e.Data);
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        _process = p;
        Paused = false;
        TestCluster.Track(p);
    }

    public void Kill()
    {
        if (_process is { HasExited: false } p)
        {
            Signal("CONT");
            try { p.Kill(); p.WaitForExit(5000); } catch { }
        }
        Paused = false;
    }

    public void Signal(string sig)
    {
        if (Pid is { } pid)
        {
            using var k = Process.Start(new ProcessStartInfo("kill", $"-{sig} {pid}") { UseShellExecute = false });
            k?.WaitForExit(2000);
            Paused = sig == "STOP";
        }
    }
}

/// <summary>A 3-member cluster with every peer link and every client link through a <see cref="FaultProxy"/>.</summary>
public sealed partial class TestCluster : IAsyncDisposable
{
    private static readonly List<Process> All = [];
    private readonly Dictionary<int, GrpcChannel> _channels = [];
    private readonly Dictionary<int, GrpcChannel> _admin = [];

    static TestCluster()
    {
        AppDomain.CurrentDomain.ProcessExit += (_, _) => KillAll();
    }

    internal static void Track(Process p)
    {
        lock (All) All.Add(p);
    }

    private static void KillAll()
    {
        lock (All)
        {
            foreach (var p in All)
            {
                try { if (!p.HasExited) p.Kill(); } catch { }
            }
        }
    }

    public required Target Target { get; init; }
    public required List<Member> Members { get; init; }
    public required FaultProxy Proxy { get; init; }
    /// <summary>--initial-cluster-token (Cairn derives member ids from it and the peer URLs).</summary>
    public required string Token { get; init; }

    /// <summary>Arguments of a member: real listen ports, advertised URLs on the proxy ports.</summary>
    public static List<string> MemberArgs(Member m, string initialCluster, string state, string token) =>
    [
        "--name", m.Name, "--data-dir", m.DataDir,
        "--listen-client-urls", $"http://127.0.0.1:{m.ClientPort}", "--advertise-client-urls", m.Endpoint,
        "--listen-peer-urls", $"http://127.0.0.1:{m.PeerPort}", "--initial-advertise-peer-urls", m.PeerUrl,
        "--initial-cluster", initialCluster, "--initial-cluster-state", state, "--initial-cluster-token", token,
        "--heartbeat-interval", "100", "--election-timeout", "1000",
        // Periodic per-watch progress notifications for the client watchers (Workloads/ClientWatchWorkload.cs).
        "--experimental-watch-progress-notify-interval", $"{(int)Workloads.ClientWatchWorkload.ProgressNotifyInterval.TotalMilliseconds}ms",
    ];

    public static int FreePort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        var port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    public static string RepoRoot()
    {
        var d = new DirectoryInfo(AppContext.BaseDirectory);
        while (d != null && !File.Exists(Path.Combine(d.FullName, "cluster.sln"))) d = d.Parent;
        return d?.FullName ?? throw new InvalidOperationException("cluster.sln not found above " + AppContext.BaseDirectory);
    }

    public static string CairnDll()
    {
        var root = RepoRoot();
        var prefer = AppContext.BaseDirectory.Contains("/Release/") ? "Release" : "Debug";
        foreach (var c in new[] { prefer, prefer == "Release" ? "Debug" : "Release" })
        {
            var p = Path.Combine(root, "src/Node/bin", c, "net10.0/cairn.dll");
            if (File.Exists(p)) return p;
        }
        throw new FileNotFoundException("cairn.dll not built (dotnet build src/Node)");
    }

    public static async Task<TestCluster> StartAsync(Target target, string dir, int seed, CancellationToken ct)
    {
        Directory.CreateDirectory(dir);
        var proxy = new FaultProxy(seed ^ 0x5eed);
        var members = new List<Member>();
        var token = $"jl-{seed}-{Environment.ProcessId}-{Random.Shared.Next()}";
        var ports = Enumerable.Range(0, 3).Select(_ => (C: FreePort(), P: FreePort(), X: FreePort(), CX: FreePort())).ToList();
        var initial = string.Join(",", ports.Select((p, i) => $"c{i + 1}=http://127.0.0.1:{p.X}"));
        for (int i = 0; i < 3; i++)
        {
            var name = $"c{i + 1}";
            var cmd = target == Target.Cairn ? ("dotnet", new List<string> { CairnDll() }) : ("etcd", new List<string>());
            var m = new Member
            {
                Index = i, Name = name, ClientPort = ports[i].C, ClientProxyPort = ports[i].CX, PeerPort = ports[i].P, ProxyPort = ports[i].X,
                DataDir = Path.Combine(dir, name + ".data"), LogFile = Path.Combine(dir, name + ".log"), Args = [], Command = cmd,
            };
            m.Args = MemberArgs(m, initial, "new", token);
            members.Add(m);
            proxy.AddRoute(i, ports[i].X, ports[i].P);
            proxy.AddRoute(i, ports[i].CX, ports[i].C, client: true);
        }
        var cluster = new TestCluster { Target = target, Members = members, Proxy = proxy, Token = token };
        try
        {
            foreach (var m in members) m.Start();
            // Generous: on a shared 2-core machine under other builds a member's runtime alone can take a minute to start.
            await cluster.WaitHealthyAsync(TimeSpan.FromSeconds(180), ct);
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
        return cluster;
    }

    /// <summary>Workload channel to member <paramref name="i"/>, through the client fault proxy.</summary>
    public GrpcChannel Channel(int i) => Cached(_channels, i, Members[i].Endpoint);

    /// <summary>Direct channel to member <paramref name="i"/> for the harness's control calls, which faults do not cut.</summary>
    public GrpcChannel AdminChannel(int i) => Cached(_admin, i, Members[i].AdminEndpoint);

    private static GrpcChannel Cached(Dictionary<int, GrpcChannel> cache, int i, string endpoint)
    {
        lock (cache)
        {
            return cache.TryGetValue(i, out var c) ? c : cache[i] = GrpcChannel.ForAddress(endpoint);
        }
    }

    public async Task<StatusResponse?> StatusAsync(int i, CancellationToken ct)
    {
        try
        {
            return await AdminChannel(i).UnaryAsync("/etcdserverpb.Maintenance/Status", new StatusRequest(), StatusResponse.Parser,
                deadline: DateTime.UtcNow.AddSeconds(2), cancellationToken: ct);
        }
        catch (Cairn.Protocol.RpcException)
        {
            return null;
        }
    }

    /// <summary>Index of the member every running member names as leader, or -1.</summary>
    public async Task<int> LeaderAsync(CancellationToken ct)
    {
        for (int i = 0; i < Members.Count; i++)
        {
            if (Members[i].Paused || !Members[i].Running) continue;
            var s = await StatusAsync(i, ct);
            if (s is { Leader: > 0 })
            {
                var idx = Members.FindIndex(m => m.Id == s.Leader);
                if (idx >= 0) return idx;
            }
        }
        return -1;
    }

    /// <summary>Waits until every member answers Status with a leader and a linearizable read succeeds on each.</summary>
    public async Task WaitHealthyAsync(TimeSpan timeout, CancellationToken ct)
    {
        var until = DateTime.UtcNow + timeout;
        while (true)
        {
            bool ok = true;
            for (int i = 0; i < Members.Count && ok; i++)
            {
                var s = await StatusAsync(i, ct);
                if (s == null || s.Leader == 0)
                {
                    ok = false;
                    break;
                }
                Members[i].Id = s.Header.MemberId;
                Proxy.Ids[s.Header.MemberId] = i;
                try
                {
                    await AdminChannel(i).UnaryAsync("/etcdserverpb.KV/Range", new RangeRequest { Key = Google.Protobuf.ByteString.CopyFromUtf8("health") },
                        RangeResponse.Parser, deadline: DateTime.UtcNow.AddSeconds(2), cancellationToken: ct);
                }
                catch (Cairn.Protocol.RpcException)
                {
                    ok = false;
                }
            }
            if (ok) return;
            if (DateTime.UtcNow > until) throw new TimeoutException($"cluster not healthy after {timeout}");
            await Task.Delay(300, ct);
        }
    }

    public ValueTask DisposeAsync()
    {
        foreach (var m in Members) m.Kill();
        foreach (var cache in new[] { _channels, _admin })
        {
            lock (cache)
            {
                foreach (var c in cache.Values) c.Dispose();
                cache.Clear();
            }
        }
        return Proxy.DisposeAsync();
    }
}
