using Cairn.Grpc.Client;
using Cairn.Protocol;
using Etcdserverpb;

namespace Cairn.Node;

/// <summary>
/// <c>cairn healthcheck [URL]</c>: exits 0 when the member at URL (default http://127.0.0.1:2379)
/// has a leader and answers a linearizable read — what etcdctl's <c>endpoint health</c> checks —
/// so containers need no etcdctl for their health probe.
/// </summary>
internal static class HealthCheck
{
    public static async Task<int> RunAsync(string[] args)
    {
        var url = args.Length > 1 ? args[1] : "http://127.0.0.1:2379";
        try
        {
            using var channel = new GrpcChannel(new Uri(url));
            var deadline = DateTime.UtcNow.AddSeconds(3);
            var status = await channel.UnaryAsync("/etcdserverpb.Maintenance/Status", new StatusRequest(), StatusResponse.Parser, deadline: deadline)
                .ConfigureAwait(false);
            if (status.Leader == 0)
            {
                Console.Error.WriteLine($"{url} is unhealthy: no leader");
                return 1;
            }

            await channel.UnaryAsync("/etcdserverpb.KV/Range", new RangeRequest { Key = Google.Protobuf.ByteString.CopyFromUtf8("health") },
                RangeResponse.Parser, deadline: deadline).ConfigureAwait(false);
            Console.WriteLine($"{url} is healthy");
            return 0;
        }
        catch (Exception e) when (e is RpcException or HttpRequestException or UriFormatException or TaskCanceledException)
        {
            Console.Error.WriteLine($"{url} is unhealthy: {e.Message}");
            return 1;
        }
    }
}
