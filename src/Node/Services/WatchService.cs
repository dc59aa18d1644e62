using Cairn.Grpc;
using Cairn.Node.Auth;
using Cairn.Protocol;
using Cairn.Watch;
using Etcdserverpb;
using static Cairn.Node.Services.ServiceRegistration;

namespace Cairn.Node.Services;

/// <summary>
/// etcd's Watch service: each gRPC stream is one <see cref="WatchStream"/> over this member's
/// watchable store. A stream opened with <c>hasleader: true</c> is refused on a member without a
/// leader, and ended with "etcdserver: no leader" when its member loses the leader for long enough.
/// </summary>
internal static class WatchService
{
    /// <summary>Registers the service's method.</summary>
    public static void Map(GrpcServiceRegistry registry, Member member, WatchableStore watchable)
    {
        registry.AddDuplexStreaming<WatchRequest, WatchResponse>("/etcdserverpb.Watch/Watch", WatchRequest.Parser,
            async (requests, writer, context) =>
            {
                var requireLeader = context.GetHeader(RequireLeaderKey);
                member.CheckRequireLeader(requireLeader);
                CallToken.Set(context.GetHeader(CallToken.MetadataKey));
                var stream = new WatchStream(watchable, new WatchStreamOptions
                {
                    HeaderFactory = () => member.Header(member.Store.Revision),
                    ProgressNotifyInterval = member.Config.WatchProgressNotifyInterval,
                    MaxRequestBytes = member.Config.MaxRequestBytes,
                    Barrier = member.WatchBarrierAsync,
                    Authorize = member.AuthorizeWatchAsync,
                });
                var requiresLeader = requireLeader is not null && requireLeader.Equals("true", StringComparison.OrdinalIgnoreCase);
                using var lostLeader = requiresLeader
                    ? CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, member.LeaderLostToken)
                    : null;
                var token = lostLeader?.Token ?? context.CancellationToken;
                // Responses are framed unflushed; the stream flushes once it has sent all it had queued.
                await stream.RunAsync(requests, (response, ct) => new ValueTask(writer.WriteAsync(response, flush: false, ct)),
                    ct => new ValueTask(writer.FlushAsync(ct)), token).ConfigureAwait(false);
                if (lostLeader is not null && member.LeaderLostToken.IsCancellationRequested && !context.CancellationToken.IsCancellationRequested)
                    throw EtcdErrors.NoLeader();
            });
    }
}
