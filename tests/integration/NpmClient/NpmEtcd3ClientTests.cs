using System.Diagnostics;
using Cairn.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace Cairn.IntegrationTests.NpmClient;

/// <summary>
/// The etcd3 npm client (Node.js, @grpc/grpc-js underneath — a gRPC stack independent of Go's and
/// ours) runs the same session (session.js) against a fresh real etcd and a fresh Cairn member; the
/// outputs must be equal. scripts/test.sh installs node and the package (npm ci here) when missing.
/// </summary>
public sealed class NpmEtcd3Client(ITestOutputHelper output)
{
    private static string Dir => Path.Combine(RepoLayout.Root, "tests", "integration", "NpmClient");

    /// <summary>KV, txn, delete, a lease kept alive then revoked, a watch of three puts, and an OutOfRange error.</summary>
    [Fact(Timeout = 180_000)]
    public async Task SessionAnswersTheSameAsRealEtcd()
    {
        var node = Tools.FindOnPath("node") ?? throw new InvalidOperationException("node is not installed (scripts/test.sh installs it)");
        Assert.True(Directory.Exists(Path.Combine(Dir, "node_modules", "etcd3")),
            $"the etcd3 package is not installed in {Dir} (scripts/test.sh runs `npm ci` there)");

        await using var etcd = await EtcdProcess.StartNewAsync();
        await using var cairn = await CairnProcess.StartNewAsync();
        var etcdOut = await RunAsync(node, etcd.ClientEndpoint);
        var cairnOut = await RunAsync(node, cairn.ClientEndpoint);
        output.WriteLine($"etcd:\n{etcdOut}\ncairn:\n{cairnOut}");
        Assert.Contains("watch=w1,w2,w3", etcdOut, StringComparison.Ordinal);
        Assert.Equal(etcdOut, cairnOut);
    }

    private static async Task<string> RunAsync(string node, string endpoint)
    {
        var info = new ProcessStartInfo(node)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Dir,
        };
        info.ArgumentList.Add("session.js");
        info.ArgumentList.Add(endpoint);
        ChildProcesses.ScrubEnvironment(info);
        var process = ChildProcesses.Start(info);
        try
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await process.WaitForExitAsync(timeout.Token);
            return $"exit {process.ExitCode}\n{(await stdout).TrimEnd()}\n{(await stderr).TrimEnd()}";
        }
        finally
        {
            await ChildProcesses.KillAndWaitAsync(process);
            process.Dispose();
        }
    }
}
