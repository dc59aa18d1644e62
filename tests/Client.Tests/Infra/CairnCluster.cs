using System.Diagnostics;
using System.Text;

namespace Cairn.Client.Tests.Infra;

/// <summary>Three Cairn members (<c>dotnet cairn.dll … --initial-cluster</c>) on free loopback ports in a temp dir.</summary>
public sealed class CairnCluster : TestCluster
{
    private readonly string _dir;
    private readonly List<(Process Process, StringBuilder Output)> _members = new();
    private readonly List<string> _endpoints = new();
    private readonly List<List<string>> _args = new();

    private CairnCluster(string dir) => _dir = dir;

    public override string Name => "cairn";

    public override IReadOnlyList<string> Endpoints => _endpoints;

    public override int Pid(int index) => _members[index].Process.Id;

    public static async Task<CairnCluster> StartAsync()
    {
        var cluster = new CairnCluster(RepoPaths.TempDir("cairn-client-cairn3"));
        try
        {
            var client = Enumerable.Range(0, 3).Select(_ => TestPorts.Free()).ToArray();
            var peer = Enumerable.Range(0, 3).Select(_ => TestPorts.Free()).ToArray();
            var initial = string.Join(",", Enumerable.Range(0, 3).Select(i => $"c{i + 1}=http://127.0.0.1:{peer[i]}"));
            for (var i = 0; i < 3; i++)
            {
                cluster._endpoints.Add($"http://127.0.0.1:{client[i]}");
                cluster._args.Add(
                [
                    RepoPaths.CairnDll, "--name", $"c{i + 1}", "--data-dir", Path.Combine(cluster._dir, $"c{i + 1}"),
                    "--listen-client-urls", $"http://127.0.0.1:{client[i]}", "--advertise-client-urls", $"http://127.0.0.1:{client[i]}",
                    "--listen-peer-urls", $"http://127.0.0.1:{peer[i]}", "--initial-advertise-peer-urls", $"http://127.0.0.1:{peer[i]}",
                    "--initial-cluster", initial, "--initial-cluster-state", "new", "--initial-cluster-token", "client-tests",
                ]);
                cluster._members.Add(ChildProcesses.Start("dotnet", cluster._args[i], cluster._dir));
            }
            await WaitHealthyAsync(cluster.Endpoints, TimeSpan.FromSeconds(40), cluster.Logs);
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    public override void Restart(int index) => _members[index] = ChildProcesses.Start("dotnet", _args[index], _dir);

    public string Logs() => string.Join("\n", _members.Select((m, i) =>
    {
        lock (m.Output)
        {
            var text = m.Output.ToString();
            return $"c{i + 1}:\n" + string.Join("\n", text.Split('\n').TakeLast(15));
        }
    }));

    public override ValueTask DisposeAsync()
    {
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
        return ValueTask.CompletedTask;
    }
}
