using System.Diagnostics;
using Cairn.Grpc.Client;
using Cairn.Protocol;
using Etcdserverpb;
using Google.Protobuf;

namespace Cairn.IntegrationTests.Infrastructure;

/// <summary>Settings shared by every member of a <see cref="CairnCluster"/>.</summary>
public sealed record CairnClusterOptions
{
    /// <summary>Members started by <see cref="CairnCluster.StartAsync"/>.</summary>
    public int Size { get; init; } = 3;

    /// <summary>--heartbeat-interval (ms).</summary>
    public int HeartbeatMs { get; init; } = 100;

    /// <summary>--election-timeout (ms).</summary>
    public int ElectionMs { get; init; } = 1000;

    /// <summary>--snapshot-count, or null for the member's default.</summary>
    public int? SnapshotCount { get; init; }

    /// <summary>Route peer traffic through a <see cref="PeerFaultProxy"/> (members advertise the proxy's ports).</summary>
    public bool WithFaultProxy { get; init; }
}

/// <summary>
/// One member of a <see cref="CairnCluster"/>: its ports, data directory and (while running) its process. It can be
/// killed with SIGKILL and started again on the same data directory.
/// </summary>
public sealed class CairnNode
{
    private const int MaxLogLines = 20_000;
    private readonly List<string> _log = [];
    private readonly Lock _logGate = new();
    private readonly CairnCluster _cluster;
    private Process? _process;
    private GrpcChannel? _channel;

    internal CairnNode(CairnCluster cluster, string name, string dataDir, int clientPort, int peerListenPort, int peerAdvertisedPort)
    {
        _cluster = cluster;
        Name = name;
        DataDir = dataDir;
        ClientPort = clientPort;
        PeerListenPort = peerListenPort;
        PeerAdvertisedPort = peerAdvertisedPort;
    }

    /// <summary>--name.</summary>
    public string Name { get; }

    /// <summary>--data-dir.</summary>
    public string DataDir { get; }

    /// <summary>Client port on 127.0.0.1.</summary>
    public int ClientPort { get; }

    /// <summary>The port the member listens on for peers.</summary>
    public int PeerListenPort { get; }

    /// <summary>The port the member advertises to peers (a proxy port when the cluster has a fault proxy).</summary>
    public int PeerAdvertisedPort { get; }

    /// <summary>http://127.0.0.1:advertised peer port.</summary>
    public string PeerUrl => $"http://127.0.0.1:{PeerAdvertisedPort}";

    /// <summary>127.0.0.1:client port.</summary>
    public string ClientEndpoint => $"127.0.0.1:{ClientPort}";

    /// <summary>etcdctl bound to this member.</summary>
    public Etcdctl Etcdctl => new(ClientEndpoint);

    /// <summary>The member id, once learned from Status (<see cref="CairnCluster.StartAsync"/> fills it).</summary>
    public ulong Id { get; internal set; }

    /// <summary>True while the process runs.</summary>
    public bool IsRunning => _process is { HasExited: false };

    /// <summary>The process id while running.</summary>
    public int? Pid => _process?.Id;

    /// <summary>A gRPC channel to this member (one per node, reused; replaced after a restart).</summary>
    public GrpcChannel Channel => _channel ??= GrpcChannel.ForAddress(ClientEndpoint);

    /// <summary>The flags used to start it (set by the cluster).</summary>
    internal List<string> Flags { get; set; } = [];

    /// <summary>Every line the member printed since this object was created (bounded).</summary>
    public string[] LogLines()
    {
        lock (_logGate)
            return [.. _log];
    }

    /// <summary>The last <paramref name="lines"/> lines of output.</summary>
    public string LogTail(int lines = 60)
    {
        lock (_logGate)
            return string.Join('\n', _log.Skip(Math.Max(0, _log.Count - lines)));
    }

    /// <summary>Whether any output line so far contains <paramref name="text"/>.</summary>
    public bool LogContains(string text)
    {
        lock (_logGate)
            return _log.Any(l => l.Contains(text, StringComparison.Ordinal));
    }

    /// <summary>Starts the process (on its data directory, which may hold earlier state).</summary>
    public void Start()
    {
        if (IsRunning)
            throw new InvalidOperationException($"{Name} is already running.");
        var startInfo = new ProcessStartInfo(Tools.Dotnet)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(DataDir)!,
        };
        startInfo.ArgumentList.Add(_cluster.Dll);
        foreach (var flag in Flags)
            startInfo.ArgumentList.Add(flag);
        ChildProcesses.ScrubEnvironment(startInfo);
        startInfo.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        AddLog($"=== [test] starting {Name}: {string.Join(' ', Flags)}");
        var process = ChildProcesses.Start(startInfo);
        process.OutputDataReceived += (_, e) => AddLog(e.Data);
        process.ErrorDataReceived += (_, e) => AddLog(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        process.StandardInput.Close();
        _process = process;
    }

    /// <summary>SIGKILL (no shutdown of any kind), and waits for the exit.</summary>
    public async Task KillAsync()
    {
        if (_process is { } process)
        {
            _process = null;
            AddLog($"=== [test] kill -9 {Name} (pid {process.Id})");
            await ChildProcesses.KillAndWaitAsync(process).ConfigureAwait(false);
            process.Dispose();
        }
        _channel?.Dispose();
        _channel = null;
    }

    /// <summary>Waits until the member answers Status (and, with <paramref name="requireLeader"/>, knows a leader).</summary>
    public async Task WaitReadyAsync(TimeSpan timeout, bool requireLeader = true)
    {
        var sw = Stopwatch.StartNew();
        Exception? last = null;
        while (sw.Elapsed < timeout)
        {
            if (_process is { HasExited: true } p)
            {
                // HasExited precedes EOF on the redirected streams; drain them so the exit reason is in the log.
                p.WaitForExit();
                throw new InvalidOperationException($"{Name} exited with code {p.ExitCode}.\n{LogTail()}");
            }
            try
            {
                var status = await StatusAsync(TimeSpan.FromSeconds(3)).ConfigureAwait(false);
                Id = status.Header.MemberId;
                if (!requireLeader || status.Leader != 0)
                    return;
            }
            catch (Exception e) when (e is RpcException or IOException or HttpRequestException)
            {
                last = e;
            }
            await Task.Delay(100).ConfigureAwait(false);
        }
        throw new TimeoutException($"{Name} not ready within {timeout.TotalSeconds:0} s (last error: {last?.Message}).\n{LogTail()}");
    }

    /// <summary>Maintenance Status.</summary>
    public Task<StatusResponse> StatusAsync(TimeSpan? timeout = null) =>
        Channel.UnaryAsync("/etcdserverpb.Maintenance/Status", new StatusRequest(), StatusResponse.Parser,
            deadline: DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(5)));

    /// <summary>Maintenance HashKV at <paramref name="revision"/> (0: current).</summary>
    public Task<HashKVResponse> HashKVAsync(long revision = 0) =>
        Channel.UnaryAsync("/etcdserverpb.Maintenance/HashKV", new HashKVRequest { Revision = revision }, HashKVResponse.Parser,
            deadline: DateTime.UtcNow + TimeSpan.FromSeconds(10));

    /// <summary>KV Put.</summary>
    public Task<PutResponse> PutAsync(string key, string value, TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        Channel.UnaryAsync("/etcdserverpb.KV/Put",
            new PutRequest { Key = ByteString.CopyFromUtf8(key), Value = ByteString.CopyFromUtf8(value) }, PutResponse.Parser,
            deadline: DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10)), cancellationToken: cancellationToken);

    /// <summary>KV Range (linearizable unless <paramref name="serializable"/>).</summary>
    public Task<RangeResponse> RangeAsync(string key, string? rangeEnd = null, bool serializable = false, TimeSpan? timeout = null,
        IEnumerable<KeyValuePair<string, string>>? headers = null) =>
        Channel.UnaryAsync("/etcdserverpb.KV/Range",
            new RangeRequest
            {
                Key = ByteString.CopyFromUtf8(key),
                RangeEnd = rangeEnd is null ? ByteString.Empty : ByteString.CopyFromUtf8(rangeEnd),
                Serializable = serializable,
            }, RangeResponse.Parser,
            headers: headers,
            deadline: DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10)));

    /// <summary>KV Compact.</summary>
    public Task<CompactionResponse> CompactAsync(long revision, bool physical = true) =>
        Channel.UnaryAsync("/etcdserverpb.KV/Compact", new CompactionRequest { Revision = revision, Physical = physical },
            CompactionResponse.Parser, deadline: DateTime.UtcNow + TimeSpan.FromSeconds(30));

    private void AddLog(string? line)
    {
        if (line is null)
            return;
        lock (_logGate)
        {
            _log.Add(line);
            if (_log.Count > MaxLogLines)
                _log.RemoveRange(0, _log.Count - MaxLogLines);
        }
    }

    internal async Task DisposeAsync()
    {
        await KillAsync().ConfigureAwait(false);
    }
}

/// <summary>
/// A Cairn cluster of real member processes on loopback (fresh ports, a fresh scratch directory under
/// <see cref="MemberProcess.ScratchRoot"/>), optionally with its peer links routed through a
/// <see cref="PeerFaultProxy"/>. <see cref="DisposeAsync"/> kills every member it started and deletes the directory.
/// </summary>
public sealed class CairnCluster : IAsyncDisposable
{
    private readonly List<CairnNode> _nodes = [];

    private CairnCluster(CairnClusterOptions options)
    {
        Options = options;
        Dll = CairnProcess.RequireDll();
        Root = Path.Combine(MemberProcess.ScratchRoot.Value, $"cairn-it-cluster-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Root);
        Token = $"it-{Guid.NewGuid():N}"[..16];
        if (options.WithFaultProxy)
            Proxy = new PeerFaultProxy();
    }

    /// <summary>The options it was created with.</summary>
    public CairnClusterOptions Options { get; }

    /// <summary>The member binary.</summary>
    public string Dll { get; }

    /// <summary>Scratch directory holding every member's data dir.</summary>
    public string Root { get; }

    /// <summary>--initial-cluster-token.</summary>
    public string Token { get; }

    /// <summary>The fault proxy, when <see cref="CairnClusterOptions.WithFaultProxy"/>.</summary>
    public PeerFaultProxy? Proxy { get; }

    /// <summary>Every member ever created (including removed ones).</summary>
    public IReadOnlyList<CairnNode> Nodes => _nodes;

    /// <summary>Creates, starts and waits for a cluster with a leader known to every member.</summary>
    public static async Task<CairnCluster> StartAsync(CairnClusterOptions? options = null)
    {
        var cluster = new CairnCluster(options ?? new CairnClusterOptions());
        try
        {
            for (var i = 1; i <= cluster.Options.Size; i++)
                cluster.CreateNode($"c{i}");
            var initial = cluster.InitialCluster(cluster._nodes);
            foreach (var node in cluster._nodes)
            {
                node.Flags = cluster.FlagsFor(node, initial, "new");
                node.Start();
            }
            foreach (var node in cluster._nodes)
                await node.WaitReadyAsync(TimeSpan.FromSeconds(60)).ConfigureAwait(false);
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>A new member object (not started, not added to the membership) on fresh ports.</summary>
    public CairnNode CreateNode(string name)
    {
        var dataDir = Path.Combine(Root, name + ".etcd");
        var client = FreePort.Next();
        var peer = FreePort.Next();
        var advertised = Proxy?.AddRoute(peer) ?? peer;
        var node = new CairnNode(this, name, dataDir, client, peer, advertised);
        _nodes.Add(node);
        return node;
    }

    /// <summary>name=url,... for <paramref name="members"/>.</summary>
    public string InitialCluster(IEnumerable<CairnNode> members) => string.Join(',', members.Select(n => $"{n.Name}={n.PeerUrl}"));

    /// <summary>Sets the flags of <paramref name="node"/> for a start with this --initial-cluster and state.</summary>
    public List<string> FlagsFor(CairnNode node, string initialCluster, string state)
    {
        var flags = new List<string>
        {
            "--name", node.Name,
            "--data-dir", node.DataDir,
            "--listen-client-urls", $"http://{node.ClientEndpoint}",
            "--advertise-client-urls", $"http://{node.ClientEndpoint}",
            "--listen-peer-urls", $"http://127.0.0.1:{node.PeerListenPort}",
            "--initial-advertise-peer-urls", node.PeerUrl,
            "--initial-cluster", initialCluster,
            "--initial-cluster-state", state,
            "--initial-cluster-token", Token,
            "--heartbeat-interval", Options.HeartbeatMs.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--election-timeout", Options.ElectionMs.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        if (Options.SnapshotCount is { } count)
            flags.AddRange(["--snapshot-count", count.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        return flags;
    }

    /// <summary>The running members.</summary>
    public IEnumerable<CairnNode> Running => _nodes.Where(n => n.IsRunning);

    /// <summary>Polls the running members until one reports itself as the leader (Status leader == its own id).</summary>
    public async Task<CairnNode> WaitForLeaderAsync(TimeSpan timeout, IEnumerable<CairnNode>? among = null)
    {
        var sw = Stopwatch.StartNew();
        while (true)
        {
            foreach (var node in (among ?? Running).ToList())
            {
                try
                {
                    var status = await node.StatusAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false);
                    if (status.Leader != 0 && status.Leader == status.Header.MemberId)
                        return node;
                }
                catch (Exception e) when (e is RpcException or IOException or HttpRequestException)
                {
                }
            }
            if (sw.Elapsed > timeout)
                throw new TimeoutException($"No leader within {timeout.TotalSeconds:0} s.\n{DescribeLogs()}");
            await Task.Delay(50).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Waits until every member in <paramref name="members"/> reports the same HashKV at the same current revision
    /// (no writes must be running); returns the common (revision, hash).
    /// </summary>
    public async Task<(long Revision, uint Hash)> WaitForEqualHashKVAsync(IReadOnlyList<CairnNode> members, TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        string last = "";
        while (true)
        {
            try
            {
                // The highest revision any member has; wait until all reach it, then compare hashes at it.
                var revisions = new List<long>();
                foreach (var m in members)
                    revisions.Add((await m.StatusAsync().ConfigureAwait(false)).Header.Revision);
                var target = revisions.Max();
                if (revisions.All(r => r == target))
                {
                    var hashes = new List<HashKVResponse>();
                    foreach (var m in members)
                        hashes.Add(await m.HashKVAsync(target).ConfigureAwait(false));
                    last = string.Join(", ", members.Zip(hashes, (m, h) => $"{m.Name}: rev {target} hash {h.Hash} compact {h.CompactRevision}"));
                    if (hashes.All(h => h.Hash == hashes[0].Hash && h.CompactRevision == hashes[0].CompactRevision))
                        return (target, hashes[0].Hash);
                }
                else
                {
                    last = string.Join(", ", members.Zip(revisions, (m, r) => $"{m.Name}: rev {r}"));
                }
            }
            catch (Exception e) when (e is RpcException or IOException or HttpRequestException)
            {
                last = e.Message;
            }
            if (sw.Elapsed > timeout)
                throw new TimeoutException($"HashKV not equal within {timeout.TotalSeconds:0} s: {last}\n{DescribeLogs()}");
            await Task.Delay(200).ConfigureAwait(false);
        }
    }

    /// <summary>The log tails of every member, for failure messages.</summary>
    public string DescribeLogs(int lines = 40) =>
        string.Join('\n', _nodes.Select(n => $"--- {n.Name} (pid {n.Pid?.ToString() ?? "-"}) log tail ---\n{n.LogTail(lines)}"));

    /// <summary>Kills every member, stops the proxy and deletes the scratch directory.</summary>
    public async ValueTask DisposeAsync()
    {
        foreach (var node in _nodes)
            await node.DisposeAsync().ConfigureAwait(false);
        if (Proxy is not null)
            await Proxy.DisposeAsync().ConfigureAwait(false);
        for (var i = 0; i < 5; i++)
        {
            try
            {
                if (Directory.Exists(Root))
                    Directory.Delete(Root, recursive: true);
                break;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                await Task.Delay(100).ConfigureAwait(false);
            }
        }
    }
}
