using Cairn.Grpc;
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
        Unary<HashKVRequest, HashKVResponse>(registry, member, "/etcdserverpb.Maintenance/HashKV", HashKVRequest.Parser, member.HashKV);
        Unary<HashRequest, HashResponse>(registry, member, "/etcdserverpb.Maintenance/Hash", HashRequest.Parser, _ => member.Hash());
        Unary<AlarmRequest, AlarmResponse>(registry, member, "/etcdserverpb.Maintenance/Alarm", AlarmRequest.Parser, member.Alarm);
        Unary<DefragmentRequest, DefragmentResponse>(registry, member, "/etcdserverpb.Maintenance/Defragment", DefragmentRequest.Parser,
            _ => new DefragmentResponse { Header = member.Header(member.Store.Revision) });
        Unary<MoveLeaderRequest, MoveLeaderResponse>(registry, member, "/etcdserverpb.Maintenance/MoveLeader", MoveLeaderRequest.Parser, member.MoveLeaderAsync);
        registry.AddServerStreaming<SnapshotRequest, SnapshotResponse>("/etcdserverpb.Maintenance/Snapshot", SnapshotRequest.Parser,
            async (_, writer, context) =>
            {
                // A consistent point-in-time copy: the store serialises one revision.
                var revision = member.Store.Revision;
                ReadOnlyMemory<byte> bytes = BackupFile.Write(member.Store);
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
