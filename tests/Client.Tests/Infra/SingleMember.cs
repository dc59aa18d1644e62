using System.Diagnostics;
using System.Text;

namespace Cairn.Client.Tests.Infra;

/// <summary>
/// One server process (a Cairn member or a real etcd) on free loopback ports with a temp data
/// dir; started by the fixture, killed (and its dir removed) on dispose, even after failures.
/// </summary>
public abstract class SingleMember : IAsyncLifetime
{
    private Process? _process;
    private StringBuilder? _output;

    public string Endpoint { get; private set; } = "";

    public string DataDir { get; private set; } = "";

    public abstract string Name { get; }

    /// <summary>True for the real etcd (some messages differ by server version).</summary>
    public abstract bool IsEtcd { get; }

    protected abstract (string File, List<string> Args) Command(int clientPort, int peerPort, string dataDir);

    public async Task InitializeAsync()
    {
        DataDir = RepoPaths.TempDir("cairn-client-" + Name);
        var clientPort = TestPorts.Free();
        var peerPort = TestPorts.Free();
        Endpoint = $"http://127.0.0.1:{clientPort}";
        var (file, args) = Command(clientPort, peerPort, DataDir);
        (_process, _output) = ChildProcesses.Start(file, args, DataDir);
        var sw = Stopwatch.StartNew();
        await using var client = new EtcdClient(new EtcdClientOptions { Endpoints = [Endpoint], CallTimeout = TimeSpan.FromSeconds(1) });
        while (true)
        {
            try
            {
                await client.GetAsync("readiness-probe");
                return;
            }
            catch (Exception) when (sw.Elapsed < TimeSpan.FromSeconds(30) && !_process.HasExited)
            {
                await Task.Delay(100);
            }
            catch (Exception e)
            {
                var output = Output;
                await DisposeAsync();
                throw new InvalidOperationException($"{Name} did not become ready at {Endpoint}: {e.Message}\n{output}");
            }
        }
    }

    public string Output
    {
        get
        {
            if (_output == null)
            {
                return "";
            }
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public Task DisposeAsync()
    {
        if (_process != null)
        {
            ChildProcesses.Kill(_process);
            _process = null;
        }
        try
        {
            Directory.Delete(DataDir, recursive: true);
        }
        catch (Exception)
        {
            // Best effort.
        }
        return Task.CompletedTask;
    }
}

/// <summary>A Cairn member: <c>dotnet cairn.dll</c> with etcd's flags.</summary>
public sealed class CairnMember : SingleMember
{
    public override string Name => "cairn";

    public override bool IsEtcd => false;

    protected override (string File, List<string> Args) Command(int clientPort, int peerPort, string dataDir) =>
        ("dotnet", [RepoPaths.CairnDll, "--name", "n1", "--data-dir", Path.Combine(dataDir, "n1"),
            "--listen-client-urls", $"http://127.0.0.1:{clientPort}", "--advertise-client-urls", $"http://127.0.0.1:{clientPort}",
            "--listen-peer-urls", $"http://127.0.0.1:{peerPort}", "--initial-advertise-peer-urls", $"http://127.0.0.1:{peerPort}",
            "--initial-cluster", $"n1=http://127.0.0.1:{peerPort}"]);
}

/// <summary>A real etcd 3.4 single member (/usr/bin/etcd).</summary>
public sealed class EtcdMember : SingleMember
{
    public override string Name => "etcd";

    public override bool IsEtcd => true;

    protected override (string File, List<string> Args) Command(int clientPort, int peerPort, string dataDir) =>
        ("etcd", ["--name", "e", "--data-dir", Path.Combine(dataDir, "e"),
            "--listen-client-urls", $"http://127.0.0.1:{clientPort}", "--advertise-client-urls", $"http://127.0.0.1:{clientPort}",
            "--listen-peer-urls", $"http://127.0.0.1:{peerPort}", "--initial-advertise-peer-urls", $"http://127.0.0.1:{peerPort}",
            "--initial-cluster", $"e=http://127.0.0.1:{peerPort}"]);
}
