using System.Diagnostics;
using Cairn.IntegrationTests.Infrastructure;

namespace Cairn.IntegrationTests.Node;

/// <summary>
/// The member's configuration as an operator meets it: etcd's flag names and ETCD_* variables,
/// and clear errors at start for bad values (exit code 2, the flag named in the message).
/// </summary>
public sealed class MemberConfigTests
{
    private static async Task<(int ExitCode, string Output)> RunAsync(IEnumerable<string> args, IDictionary<string, string>? env = null, TimeSpan? runFor = null)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true };
        start.ArgumentList.Add(CairnProcess.RequireDll());
        foreach (var a in args)
            start.ArgumentList.Add(a);
        foreach (var (k, v) in env ?? new Dictionary<string, string>())
            start.Environment[k] = v;
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(runFor ?? TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }

        return (process.ExitCode, await stdout + await stderr);
    }

    [Theory]
    [InlineData("--bogus=1", "unknown flag --bogus")]
    [InlineData("--initial-cluster-state=maybe", "--initial-cluster-state must be \"new\" or \"existing\"")]
    [InlineData("--listen-client-urls=127.0.0.1:2379", "is not a URL like http://127.0.0.1:2379")]
    [InlineData("--heartbeat-interval=500", "should be at least 5 times as large as --heartbeat-interval")]
    [InlineData("--snapshot-count=-5", "--snapshot-count must be a positive integer")]
    [InlineData("--initial-cluster=other=http://127.0.0.1:1", "--initial-cluster has no entry for this member's --name \"default\"")]
    public async Task Bad_flags_stop_the_member_at_start_with_the_flag_named(string flag, string expected)
    {
        var (code, output) = await RunAsync([flag]);
        Assert.Equal(2, code);
        Assert.Contains("cairn: configuration error:", output);
        Assert.Contains(expected, output);
    }

    [Fact]
    public async Task Bad_environment_variables_are_named_too()
    {
        var (code, output) = await RunAsync([], new Dictionary<string, string> { ["ETCD_ELECTION_TIMEOUT"] = "soon" });
        Assert.Equal(2, code);
        Assert.Contains("environment variable ETCD_ELECTION_TIMEOUT", output);
    }

    [Fact]
    public async Task Environment_variables_configure_the_member_and_flags_win_over_them()
    {
        var dir = Directory.CreateTempSubdirectory("cairn-config-").FullName;
        try
        {
            var client = FreePort.Next();
            var peer = FreePort.Next();
            var env = new Dictionary<string, string>
            {
                ["ETCD_NAME"] = "from-env",
                ["ETCD_DATA_DIR"] = Path.Combine(dir, "ignored"),
                ["ETCD_LISTEN_CLIENT_URLS"] = $"http://127.0.0.1:{client}",
                ["ETCD_ADVERTISE_CLIENT_URLS"] = $"http://127.0.0.1:{client}",
                ["ETCD_LISTEN_PEER_URLS"] = $"http://127.0.0.1:{peer}",
                ["ETCD_INITIAL_ADVERTISE_PEER_URLS"] = $"http://127.0.0.1:{peer}",
            };
            var dataDir = Path.Combine(dir, "from-flag");
            var (_, output) = await RunAsync(["--data-dir", dataDir, "--initial-cluster", $"from-env=http://127.0.0.1:{peer}"], env, runFor: TimeSpan.FromSeconds(8));
            Assert.Contains("cairn member from-env", output);
            Assert.True(Directory.Exists(Path.Combine(dataDir, "member", "wal")), output);
            Assert.False(Directory.Exists(Path.Combine(dir, "ignored")));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
