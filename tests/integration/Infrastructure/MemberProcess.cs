using System.Diagnostics;
using System.Net.Sockets;

namespace Cairn.IntegrationTests.Infrastructure;

/// <summary>
/// One single-member cluster running as a child process on fresh loopback ports and a fresh temporary data
/// directory: either the real etcd (<see cref="EtcdProcess"/>) or Cairn (<see cref="CairnProcess"/>), started with the
/// same etcd flags. <see cref="StartAsync"/> returns once <c>etcdctl endpoint health</c> succeeds;
/// <see cref="DisposeAsync"/> kills the process (by its own handle) and deletes the temporary directory.
/// </summary>
public abstract class MemberProcess : IAsyncDisposable
{
    private const int LogTailLines = 300;
    private readonly Queue<string> _log = new();
    private readonly Lock _logGate = new();
    private Process? _process;
    private string? _tempDir;

    /// <summary>Short name for messages: "etcd" or "cairn".</summary>
    public abstract string Kind { get; }

    /// <summary>The member name passed as <c>--name</c>.</summary>
    public string MemberName { get; init; } = "default";

    /// <summary>The client port on 127.0.0.1.</summary>
    public int ClientPort { get; private set; }

    /// <summary>The peer port on 127.0.0.1.</summary>
    public int PeerPort { get; private set; }

    /// <summary>The data directory passed as <c>--data-dir</c> (inside a temporary directory owned by this object).</summary>
    public string DataDir => Path.Combine(_tempDir ?? throw new InvalidOperationException("Not started."), "data");

    /// <summary><c>127.0.0.1:&lt;client port&gt;</c>, as etcdctl's <c>--endpoints</c> wants it.</summary>
    public string ClientEndpoint => $"127.0.0.1:{ClientPort}";

    /// <summary><c>http://127.0.0.1:&lt;client port&gt;</c>.</summary>
    public string ClientUrl => $"http://{ClientEndpoint}";

    /// <summary><c>http://127.0.0.1:&lt;peer port&gt;</c>.</summary>
    public string PeerUrl => $"http://127.0.0.1:{PeerPort}";

    /// <summary>An etcdctl runner bound to this member's client endpoint.</summary>
    public Etcdctl Etcdctl => new(ClientEndpoint);

    /// <summary>The process id, while started (and not yet disposed).</summary>
    public int? ProcessId => _process?.Id;

    /// <summary>True when the started process has exited (crashed, or stopped by itself).</summary>
    public bool HasExited => _process is { HasExited: true };

    /// <summary>"exit code N" once <see cref="HasExited"/>; empty otherwise.</summary>
    public string ExitDescription => _process is { HasExited: true } p ? $"exit code {p.ExitCode}" : "";

    /// <summary>
    /// Where member data directories go: <c>$CAIRN_IT_TMPDIR</c> if set, else <c>/dev/shm</c> when it is a writable
    /// directory (members fsync and preallocate their WAL on every start and write: memory is much faster than a
    /// shared disk, and nothing needs to survive the test), else the system temp directory.
    /// </summary>
    public static readonly Lazy<string> ScratchRoot = new(() =>
    {
        if (Environment.GetEnvironmentVariable("CAIRN_IT_TMPDIR") is { Length: > 0 } configured)
        {
            Directory.CreateDirectory(configured);
            return configured;
        }
        const string shm = "/dev/shm";
        if (Directory.Exists(shm))
        {
            try
            {
                var probe = Path.Combine(shm, $"cairn-it-probe-{Guid.NewGuid():N}");
                Directory.CreateDirectory(probe);
                Directory.Delete(probe);
                return shm;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Not usable: fall through.
            }
        }
        return Path.GetTempPath();
    });

    /// <summary>How long to wait for the member to become healthy.</summary>
    protected virtual TimeSpan StartTimeout => TimeSpan.FromSeconds(30);

    /// <summary>
    /// The etcd flags for a fresh single-member cluster on this object's ports and data directory; both etcd and Cairn
    /// take exactly these.
    /// </summary>
    public IReadOnlyList<string> MemberFlags() =>
    [
        "--name", MemberName,
        "--data-dir", DataDir,
        "--listen-client-urls", ClientUrl,
        "--advertise-client-urls", ClientUrl,
        "--listen-peer-urls", PeerUrl,
        "--initial-advertise-peer-urls", PeerUrl,
        "--initial-cluster", $"{MemberName}={PeerUrl}",
    ];

    /// <summary>The last lines the member printed (stdout and stderr interleaved), for failure messages.</summary>
    public string LogTail()
    {
        lock (_logGate)
            return string.Join('\n', _log);
    }

    /// <summary>How to start the member process with <paramref name="flags"/> (<see cref="MemberFlags"/>).</summary>
    protected abstract ProcessStartInfo CreateStartInfo(IReadOnlyList<string> flags);

    /// <summary>
    /// Starts the member and waits until it answers <c>etcdctl endpoint health</c>. Retries on fresh ports when the
    /// ports were taken in the meantime. On failure, everything started is stopped and removed before throwing.
    /// </summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        const int attempts = 3;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await StartOnceAsync(cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (Exception) when (attempt < attempts && LogTail().Contains("address already in use", StringComparison.Ordinal))
            {
                await StopAsync().ConfigureAwait(false);
            }
            catch
            {
                await StopAsync().ConfigureAwait(false);
                throw;
            }
        }
    }

    private async Task StartOnceAsync(CancellationToken cancellationToken)
    {
        lock (_logGate)
            _log.Clear();
        _tempDir = Path.Combine(ScratchRoot.Value, $"cairn-it-{Kind}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(_tempDir);
        ClientPort = FreePort.Next();
        PeerPort = FreePort.Next();

        var startInfo = CreateStartInfo(MemberFlags());
        startInfo.RedirectStandardOutput = true;
        startInfo.RedirectStandardError = true;
        startInfo.RedirectStandardInput = true;
        startInfo.UseShellExecute = false;
        startInfo.WorkingDirectory = _tempDir;
        ChildProcesses.ScrubEnvironment(startInfo);

        var process = ChildProcesses.Start(startInfo);
        _process = process;
        process.OutputDataReceived += (_, e) => AddLog(e.Data);
        process.ErrorDataReceived += (_, e) => AddLog(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        process.StandardInput.Close();

        await WaitHealthyAsync(process, cancellationToken).ConfigureAwait(false);
    }

    private async Task WaitHealthyAsync(Process process, CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.StartNew();
        var etcdctl = Etcdctl;
        CommandResult? last = null;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (process.HasExited)
            {
                // HasExited turns true before the redirected stdout/stderr reach EOF; WaitForExit() without a timeout
                // waits for both, so the last words of the process (often the reason it exited) are in the log.
                process.WaitForExit();
                throw new InvalidOperationException(
                    $"{Describe()} exited with code {process.ExitCode} before becoming healthy.\n--- its output (tail) ---\n{LogTail()}");
            }
            if (deadline.Elapsed > StartTimeout)
            {
                throw new TimeoutException(
                    $"{Describe()} did not pass 'etcdctl endpoint health' within {StartTimeout.TotalSeconds:0} s." +
                    (last is null ? " Its client port never accepted a connection." : $" Last health check: exit {last.ExitCode}, {last.StderrText.Trim()}") +
                    $"\n--- its output (tail) ---\n{LogTail()}");
            }
            // Only talk to the port once our own process listens on it: a foreign process that grabbed the port
            // first would otherwise answer the health check (and the whole test) in our member's place.
            var listening = ListensOn(process.Id, ClientPort) ?? await AcceptsConnectionsAsync(cancellationToken).ConfigureAwait(false);
            if (listening)
            {
                last = await etcdctl.RunAsync(["endpoint", "health", "--command-timeout=2s"], timeout: TimeSpan.FromSeconds(10), cancellationToken: cancellationToken)
                    .ConfigureAwait(false);
                if (last.Succeeded)
                    return;
            }
            await Task.Delay(50, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Linux: whether process <paramref name="pid"/> holds a listening TCP socket on <paramref name="port"/>
    /// (from /proc/net/tcp{,6} and /proc/&lt;pid&gt;/fd). Null when /proc cannot tell.
    /// </summary>
    public static bool? ListensOn(int pid, int port)
    {
        if (!File.Exists("/proc/net/tcp"))
            return null;
        var inodes = new HashSet<string>(StringComparer.Ordinal);
        try
        {
            foreach (var table in new[] { "/proc/net/tcp", "/proc/net/tcp6" })
            {
                if (!File.Exists(table))
                    continue;
                foreach (var line in File.ReadLines(table).Skip(1))
                {
                    // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
                    var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    if (parts.Length < 10 || parts[3] != "0A")
                        continue;
                    var local = parts[1];
                    if (int.TryParse(local.AsSpan(local.LastIndexOf(':') + 1), System.Globalization.NumberStyles.HexNumber, null, out var p) && p == port)
                        inodes.Add(parts[9]);
                }
            }
            if (inodes.Count == 0)
                return false;
            foreach (var fd in Directory.EnumerateFileSystemEntries($"/proc/{pid}/fd"))
            {
                string? target;
                try
                {
                    target = new FileInfo(fd).LinkTarget;
                }
                catch (IOException)
                {
                    continue; // closed while we looked
                }
                if (target is not null && target.StartsWith("socket:[", StringComparison.Ordinal) && inodes.Contains(target[8..^1]))
                    return true;
            }
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
        catch (IOException)
        {
            return false; // the process is gone or going; the caller checks HasExited
        }
    }

    private async Task<bool> AcceptsConnectionsAsync(CancellationToken cancellationToken)
    {
        using var client = new TcpClient();
        try
        {
            await client.ConnectAsync("127.0.0.1", ClientPort, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>"etcd (pid 123, client 127.0.0.1:4000)" and the like.</summary>
    public string Describe() => $"{Kind} (pid {_process?.Id.ToString() ?? "-"}, client {ClientEndpoint}, peer {PeerUrl})";

    private void AddLog(string? line)
    {
        if (line is null)
            return;
        lock (_logGate)
        {
            _log.Enqueue(line);
            while (_log.Count > LogTailLines)
                _log.Dequeue();
        }
    }

    private async Task StopAsync()
    {
        if (_process is { } process)
        {
            _process = null;
            await ChildProcesses.KillAndWaitAsync(process).ConfigureAwait(false);
            process.Dispose();
        }
        if (_tempDir is { } dir)
        {
            _tempDir = null;
            for (var i = 0; i < 5; i++)
            {
                try
                {
                    if (Directory.Exists(dir))
                        Directory.Delete(dir, recursive: true);
                    break;
                }
                catch (IOException)
                {
                    await Task.Delay(100).ConfigureAwait(false);
                }
                catch (UnauthorizedAccessException)
                {
                    await Task.Delay(100).ConfigureAwait(false);
                }
            }
        }
    }

    /// <summary>Kills the member (if running) and deletes its temporary directory.</summary>
    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        GC.SuppressFinalize(this);
    }
}

/// <summary>The real etcd (3.4) as a single-member cluster: the oracle of the differential tests.</summary>
public sealed class EtcdProcess : MemberProcess
{
    /// <inheritdoc />
    public override string Kind => "etcd";

    /// <summary>Starts a fresh etcd member and waits until it is healthy.</summary>
    public static async Task<EtcdProcess> StartNewAsync(CancellationToken cancellationToken = default)
    {
        var member = new EtcdProcess();
        await member.StartAsync(cancellationToken).ConfigureAwait(false);
        return member;
    }

    /// <inheritdoc />
    protected override ProcessStartInfo CreateStartInfo(IReadOnlyList<string> flags)
    {
        var startInfo = new ProcessStartInfo(Tools.Etcd);
        foreach (var flag in flags)
            startInfo.ArgumentList.Add(flag);
        return startInfo;
    }
}

/// <summary>
/// A Cairn member (<c>dotnet src/Node/bin/&lt;Configuration&gt;/net10.0/cairn.dll &lt;etcd flags&gt;</c>) as a
/// single-member cluster.
/// </summary>
public sealed class CairnProcess : MemberProcess
{
    private readonly string _dll;

    /// <summary>Uses <paramref name="dll"/>, or the one <see cref="RepoLayout.FindCairnDll"/> finds.</summary>
    public CairnProcess(string? dll = null) => _dll = dll ?? RequireDll();

    /// <inheritdoc />
    public override string Kind => "cairn";

    /// <summary>The member binary this object runs.</summary>
    public string Dll => _dll;

    /// <summary>Starts a fresh Cairn member and waits until it is healthy.</summary>
    public static async Task<CairnProcess> StartNewAsync(CancellationToken cancellationToken = default)
    {
        var member = new CairnProcess();
        await member.StartAsync(cancellationToken).ConfigureAwait(false);
        return member;
    }

    /// <summary>The Cairn member binary; throws a message that says how to get it when it does not exist.</summary>
    public static string RequireDll() =>
        RepoLayout.FindCairnDll() ?? throw new InvalidOperationException(
            Environment.GetEnvironmentVariable("CAIRN_DLL") is { Length: > 0 } overridden
                ? $"The Cairn member binary does not exist: CAIRN_DLL={overridden}."
                : $"The Cairn member binary does not exist: expected {RepoLayout.ExpectedCairnDll} " +
                  "(built from src/Node by 'dotnet build tests/integration'; set CAIRN_DLL to use another one).");

    /// <inheritdoc />
    protected override ProcessStartInfo CreateStartInfo(IReadOnlyList<string> flags)
    {
        var startInfo = new ProcessStartInfo(Tools.Dotnet);
        startInfo.ArgumentList.Add(_dll);
        foreach (var flag in flags)
            startInfo.ArgumentList.Add(flag);
        startInfo.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        return startInfo;
    }
}
