using Cairn.Grpc;
using Cairn.Node.Auth;
using Etcdserverpb;
using Google.Protobuf;
using static Cairn.Node.Services.ServiceRegistration;

namespace Cairn.Node.Services;

/// <summary>etcd's Maintenance service.</summary>
internal static class MaintenanceService
{
    private const int SnapshotChunkBytes = 32 * 1024;

    /// <summary>Registers the service's methods.</summary>
    public static void Map(GrpcServiceRegistry registry, Member member)
    {
        Unary<StatusRequest, StatusResponse>(registry, member, "/etcdserverpb.Maintenance/Status", StatusRequest.Parser, _ => member.Status());
        // Hash, HashKV, Defragment, MoveLeader and Snapshot are for root only when auth is enabled (etcd 3.4).
        Unary<HashKVRequest, HashKVResponse>(registry, member, "/etcdserverpb.Maintenance/HashKV", HashKVRequest.Parser,
            async (request, ct) => { await member.CheckAdminAsync(ct).ConfigureAwait(false); return member.HashKV(request); });
        Unary<HashRequest, HashResponse>(registry, member, "/etcdserverpb.Maintenance/Hash", HashRequest.Parser,
            async (_, ct) => { await member.CheckAdminAsync(ct).ConfigureAwait(false); return member.Hash(); });
        Unary<AlarmRequest, AlarmResponse>(registry, member, "/etcdserverpb.Maintenance/Alarm", AlarmRequest.Parser, member.Alarm);
        Unary<DefragmentRequest, DefragmentResponse>(registry, member, "/etcdserverpb.Maintenance/Defragment", DefragmentRequest.Parser,
            async (_, ct) => { await member.CheckAdminAsync(ct).ConfigureAwait(false); return new DefragmentResponse { Header = member.Header(member.Store.Revision) }; });
        Unary<MoveLeaderRequest, MoveLeaderResponse>(registry, member, "/etcdserverpb.Maintenance/MoveLeader", MoveLeaderRequest.Parser,
            async (request, ct) => { await member.CheckAdminAsync(ct).ConfigureAwait(false); return await member.MoveLeaderAsync(request, ct).ConfigureAwait(false); });
        registry.AddServerStreaming<SnapshotRequest, SnapshotResponse>("/etcdserverpb.Maintenance/Snapshot", SnapshotRequest.Parser,
            async (_, writer, context) =>
            {
                CallToken.Set(context.GetHeader(CallToken.MetadataKey));
                await member.CheckAdminAsync(context.CancellationToken).ConfigureAwait(false);
                // The whole state (store, leases, auth, members) as of one applied index.
                var revision = member.Store.Revision;
                ReadOnlyMemory<byte> bytes = BackupFile.Write(await member.Consensus.TakeStateSnapshotAsync(context.CancellationToken).ConfigureAwait(false));
                for (var offset = 0; offset < bytes.Length; offset += SnapshotChunkBytes)
                {
                    var n = Math.Min(SnapshotChunkBytes, bytes.Length - offset);
                    await writer.WriteAsync(new SnapshotResponse
                    {
                        Header = member.Header(revision),
                        RemainingBytes = (ulong)(bytes.Length - offset - n),
                        Blob = ByteString.CopyFrom(bytes.Span.Slice(offset, n)),
                        Version = Member.ApiVersion,
                    }, context.CancellationToken).ConfigureAwait(false);
                }
            });
    }
}
