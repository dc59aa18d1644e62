using System.Text.Json;
using Cairn.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace Cairn.IntegrationTests.Cluster;

/// <summary>
/// <c>etcdctl endpoint status|health --cluster</c>: etcdctl reads the member list from one member and dials every
/// member's client URL as listed (<c>http://127.0.0.1:port</c>), which grpc-go sends as the HTTP/2 :authority.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class EndpointCluster(ITestOutputHelper output) : ClusterTestBase(output)
{
    /// <summary>Asked through one member, all three members answer status (with their own ids) and health.</summary>
    [Fact(Timeout = 150_000)]
    public Task StatusAndHealthOfEveryMemberThroughOne() =>
        WithClusterAsync(new CairnClusterOptions(), TimeSpan.FromSeconds(120), async (cluster, _) =>
        {
            var ctl = cluster.Nodes[0].Etcdctl;
            var urls = cluster.Nodes.Select(n => $"http://{n.ClientEndpoint}").Order(StringComparer.Ordinal).ToList();

            var status = await ctl.RunAsync(["endpoint", "status", "--cluster", "-w", "json"]);
            Log($"endpoint status --cluster -> {status.ExitCode}\n{status.StdoutText}{status.StderrText}");
            Assert.True(status.Succeeded, status.StderrText);
            Assert.DoesNotContain("PROTOCOL_ERROR", status.StderrText, StringComparison.Ordinal);
            using var json = JsonDocument.Parse(status.StdoutText);
            var answers = json.RootElement.EnumerateArray()
                .Select(e => (Endpoint: e.GetProperty("Endpoint").GetString()!,
                    MemberId: e.GetProperty("Status").GetProperty("header").GetProperty("member_id").GetUInt64()))
                .OrderBy(a => a.Endpoint, StringComparer.Ordinal)
                .ToList();
            Assert.Equal(urls, answers.Select(a => a.Endpoint));
            // Each URL was answered by the member behind it, not by the one etcdctl was pointed at.
            var idsByUrl = cluster.Nodes.ToDictionary(n => $"http://{n.ClientEndpoint}", n => n.Id);
            Assert.All(answers, a => Assert.Equal(idsByUrl[a.Endpoint], a.MemberId));

            var health = await ctl.RunAsync(["endpoint", "health", "--cluster"]);
            Log($"endpoint health --cluster -> {health.ExitCode}\n{health.StdoutText}{health.StderrText}");
            Assert.True(health.Succeeded, health.StderrText);
            var healthy = (health.StdoutText + health.StderrText).Split('\n')
                .Where(l => l.Contains(" is healthy: successfully committed proposal", StringComparison.Ordinal))
                .Select(l => l[..l.IndexOf(' ', StringComparison.Ordinal)])
                .Order(StringComparer.Ordinal)
                .ToList();
            Assert.Equal(urls, healthy);
        });
}
