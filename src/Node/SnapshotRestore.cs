using Cairn.Node.Auth;
using Cairn.Mvcc;
using Cairn.Node.Replication;
using Cairn.Raft;
using Cairn.Raft.Storage;

namespace Cairn.Node;

/// <summary>
/// <c>cairn snapshot restore FILE [--name N] [--data-dir D] [--initial-cluster ...]
/// [--initial-advertise-peer-urls ...] [--initial-cluster-token T]</c>: what <c>etcdctl snapshot
/// restore</c> does for etcd, for the file <c>etcdctl snapshot save</c> gets from Cairn (see
/// <see cref="BackupFile"/>). The file's checksums are verified, then a
/// data dir is written for one member of a NEW cluster: member ids and the cluster id come from the
/// flags (as for founders, and as etcd's restore derives them), the keys and revisions from the file.
/// Run it once per member with the same flags but its own --name and --data-dir; then start the
/// members with those flags, and they form the new cluster holding the saved data.
/// </summary>
/// <remarks>
/// The data dir is exactly what a founder writes on its first start (a bootstrap snapshot of the
/// configuration at index 1, its WAL marker, <c>member/cluster_id</c>) except that the snapshot's
/// state holds the saved store, so every restored member starts from the same state at the same
/// index and nothing has to be replicated. Leases and auth (users, roles, enabled) come back as
/// saved. A restored lease's clock starts anew when the new cluster's leader takes office (as on
/// any leader change, and as etcd's restored leases do), so it expires its TTL after that unless
/// kept alive. A file saved before backups held the whole state restores the keys only.
/// </remarks>
internal static class SnapshotRestore
{
    private const string Usage =
        "usage: cairn snapshot restore FILE [--name N] [--data-dir D] [--initial-cluster N1=URL,...] " +
        "[--initial-advertise-peer-urls URL] [--initial-cluster-token T]";

    private static readonly HashSet<string> AllowedFlags =
        ["name", "data-dir", "initial-cluster", "initial-advertise-peer-urls", "initial-cluster-token"];

    /// <summary>Runs the subcommand (<paramref name="args"/> starts with "snapshot"); returns the exit code.</summary>
    public static int Run(string[] args)
    {
        if (args is not ["snapshot", "restore", var file, .. var flags] || file.StartsWith('-'))
        {
            Console.Error.WriteLine(Usage);
            return 2;
        }

        try
        {
            var (dataDir, clusterId, memberId) = Restore(file, flags);
            Console.WriteLine($"restored snapshot {file} into {dataDir}: member {memberId:x16} of new cluster {clusterId:x16}");
            return 0;
        }
        catch (ConfigException e)
        {
            Console.Error.WriteLine($"cairn snapshot restore: {e.Message}\n{Usage}");
            return 2;
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"cairn snapshot restore: {e.Message}");
            return 1;
        }
    }

    /// <summary>Writes the data dir; returns it with the new cluster's id and this member's id.</summary>
    private static (string DataDir, ulong ClusterId, ulong MemberId) Restore(string file, IReadOnlyList<string> flags)
    {
        foreach (var flag in flags.Where(f => f.StartsWith('-')))
        {
            var name = flag.TrimStart('-').Split('=')[0];
            if (!AllowedFlags.Contains(name))
                throw new ConfigException($"unknown flag --{name}");
        }

        // The member's own parser gives the same defaults and checks as the later start with these flags;
        // the environment is left out (etcdctl reads ETCDCTL_*, not the member's ETCD_*).
        var config = MemberConfig.Parse(flags, new Dictionary<string, string?>());
        if (Directory.Exists(config.DataDir))
            throw new ConfigException($"data-dir \"{config.DataDir}\" exists");

        // The file's digest and the store's own checksum are verified before anything is written.
        // Leases and auth are kept, as etcd's restore keeps its lease and auth buckets; the saved
        // member list is dropped (etcd's restore deletes its members buckets) for the new one below.
        var lessor = new Lessor(1);
        var store = new KvStore();
        var auth = new AuthStore();
        BackupFile.Read(File.ReadAllBytes(file), new ClusterMembers(), lessor, store, auth);

        var memberIds = config.InitialCluster.ToDictionary(kv => kv.Key, kv => MemberIdentity.MemberId(kv.Value, config.InitialClusterToken));
        var members = new ClusterMembers();
        members.Initialize(config.InitialCluster.Select(kv =>
        {
            var m = new Etcdserverpb.Member { ID = memberIds[kv.Key], Name = kv.Key };
            m.PeerURLs.AddRange(kv.Value.Select(u => u.ToString().TrimEnd('/')));
            return m;
        }));
        var state = new ConfState(memberIds.Values);
        var bootstrap = Snapshot.Bootstrap(state);
        var data = StateSnapshot.Write(bootstrap.Metadata.Index, members, lessor, store, auth);
        var clusterId = MemberIdentity.ClusterId(memberIds.Values);

        // Written under a temporary name and renamed at the end, so a failed restore leaves no
        // half-made data dir that a member would start from.
        var temp = config.DataDir.TrimEnd(Path.DirectorySeparatorChar) + ".restoring";
        if (Directory.Exists(temp))
            Directory.Delete(temp, recursive: true);
        var memberDir = Path.Combine(temp, "member");
        new SnapshotStore(Path.Combine(memberDir, "snap")).Save(bootstrap.Metadata.Index, bootstrap.Metadata.Term, ConfStateCodec.Encode(state), data);
        using (var wal = WriteAheadLog.Open(Path.Combine(memberDir, "wal"), WalOptions.Default, out _))
        {
            wal.SaveSnapshotMarker(bootstrap.Metadata.Index, bootstrap.Metadata.Term);
            wal.Sync();
        }

        ClusterIdentity.Write(temp, clusterId);
        Directory.Move(temp, config.DataDir);
        return (config.DataDir, clusterId, memberIds[config.Name]);
    }
}
