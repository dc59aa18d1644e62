using System.Globalization;
using Cairn.Raft.Transport;
using Etcdserverpb;
using Google.Protobuf;

namespace Cairn.Node;

/// <summary>
/// The cluster id a member runs with and the peers it dials first. Where the id comes from follows
/// etcd: a data dir that has one keeps it (etcd reads it from the WAL; we keep it in
/// <c>DATA/member/cluster_id</c>); the founders of a new cluster hash their ids; a member joining
/// an existing cluster (<c>--initial-cluster-state existing</c>) asks the members it lists for
/// the cluster id and the current member list (etcd's GetClusterFromRemotePeers), because after
/// earlier membership changes the id can no longer be derived from the flags.
/// </summary>
/// <param name="ClusterId">The cluster id.</param>
/// <param name="Peers">Peer URLs by member id to dial before the replicated member list is known.</param>
internal sealed record ClusterIdentity(ulong ClusterId, IReadOnlyDictionary<ulong, IReadOnlyList<Uri>> Peers)
{
    private static readonly TimeSpan FetchDeadline = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan FetchRetryPause = TimeSpan.FromMilliseconds(500);

    /// <summary>The file holding the cluster id: 16 hex digits.</summary>
    public static string FilePath(string dataDir) => Path.Combine(dataDir, "member", "cluster_id");

    /// <summary>Decides the identity (see the type's summary) and stores the id in the data dir.</summary>
    /// <exception cref="ConfigException">The stored id is unreadable, or a joiner could not learn the id from any peer.</exception>
    public static async Task<ClusterIdentity> ResolveAsync(MemberConfig config, IReadOnlyDictionary<string, ulong> memberIds, CancellationToken cancellationToken)
    {
        var memberId = memberIds[config.Name];
        var peers = config.InitialCluster.ToDictionary(kv => memberIds[kv.Key], kv => kv.Value);
        if (TryRead(config.DataDir) is { } stored)
            return new ClusterIdentity(stored, peers);

        var joining = config.InitialClusterState == "existing";
        ulong clusterId;
        if (joining && !HasRaftState(config.DataDir))
        {
            var list = await FetchAsync(config, memberId, peers, cancellationToken).ConfigureAwait(false);
            CheckMatchesFlags(config, list);
            clusterId = list.Header.ClusterId;
            // The cluster's own list is authoritative: it names members added after the flags were
            // written and leaves out removed ones (whose transports would refuse us anyway).
            peers = list.Members.Where(m => m.ID != memberId && m.PeerURLs.Count > 0)
                .ToDictionary(m => m.ID, m => (IReadOnlyList<Uri>)m.PeerURLs.Select(u => new Uri(u)).ToList());
        }
        else
        {
            // A founder, or a data dir written before the id was stored: derive it as it was derived
            // then (a joiner of that time hashed the ids of the others it listed).
            clusterId = MemberIdentity.ClusterId(joining ? memberIds.Where(kv => kv.Key != config.Name).Select(kv => kv.Value) : memberIds.Values);
        }

        Write(config.DataDir, clusterId);
        return new ClusterIdentity(clusterId, peers);
    }

    /// <summary>
    /// etcd's ValidateClusterAndAssignIDs: a joiner's --initial-cluster must name exactly the cluster's members, each
    /// by the peer URLs the cluster has for it (compared as sets). `etcdctl member add` prints such a list; an
    /// out-of-date one (a member removed or added since) is refused before the member does anything, as etcd refuses
    /// it, instead of starting with a wrong idea of its peers.
    /// </summary>
    /// <exception cref="ConfigException">The lists differ; the message names the first difference.</exception>
    internal static void CheckMatchesFlags(MemberConfig config, MemberListResponse list)
    {
        static string Key(IEnumerable<string> urls) =>
            string.Join(",", urls.Select(u => new Uri(u).ToString().TrimEnd('/')).Order(StringComparer.Ordinal));

        var local = config.InitialCluster.ToDictionary(kv => kv.Key, kv => Key(kv.Value.Select(u => u.ToString())));
        var existing = list.Members.Select(m => Key(m.PeerURLs)).ToList();
        var prefix = "--initial-cluster does not match the cluster's members (error validating peerURLs): ";
        if (local.Count != existing.Count)
        {
            throw new ConfigException(
                prefix + $"member count is unequal (--initial-cluster names {local.Count}, the cluster has {existing.Count}: {string.Join(" ", existing)})");
        }

        var unmatched = local.Where(kv => !existing.Contains(kv.Value, StringComparer.Ordinal)).Select(kv => $"{kv.Key}={kv.Value}").ToList();
        if (unmatched.Count > 0)
        {
            throw new ConfigException(
                prefix + $"unmatched member while checking PeerURLs ({string.Join(" ", unmatched)} not among the cluster's {string.Join(" ", existing)})");
        }
    }

    /// <summary>What this member answers a joiner: the member list with the cluster id in its header.</summary>
    public static ReadOnlyMemory<byte> Describe(ClusterMembers members, ulong clusterId)
    {
        var list = members.ToList();
        list.Header = new ResponseHeader { ClusterId = clusterId };
        return list.ToByteArray();
    }

    /// <summary>Stores the id (write, fsync, rename), so a restart never needs the peers or the flags for it.</summary>
    public static void Write(string dataDir, ulong clusterId)
    {
        var path = FilePath(dataDir);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temp = path + ".tmp";
        using (var file = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            file.Write(System.Text.Encoding.ASCII.GetBytes(clusterId.ToString("x16", CultureInfo.InvariantCulture) + "\n"));
            file.Flush(flushToDisk: true);
        }

        File.Move(temp, path, overwrite: true);
    }

    private static ulong? TryRead(string dataDir)
    {
        var path = FilePath(dataDir);
        if (!File.Exists(path))
            return null;
        var text = File.ReadAllText(path).Trim();
        if (text.Length != 16 || !ulong.TryParse(text, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var id) || id == 0)
            throw new ConfigException($"{path} does not hold a cluster id (16 hex digits): \"{(text.Length > 40 ? text[..40] : text)}\"");
        return id;
    }

    private static bool HasRaftState(string dataDir)
    {
        var member = Path.Combine(dataDir, "member");
        return new[] { "wal", "snap" }.Select(d => Path.Combine(member, d))
            .Any(d => Directory.Exists(d) && Directory.EnumerateFileSystemEntries(d).Any());
    }

    /// <summary>Asks each listed peer in turn, for up to <see cref="FetchDeadline"/>, until one answers with a list naming this member.</summary>
    private static async Task<MemberListResponse> FetchAsync(
        MemberConfig config, ulong memberId, IReadOnlyDictionary<ulong, IReadOnlyList<Uri>> peers, CancellationToken cancellationToken)
    {
        var urls = peers.Where(kv => kv.Key != memberId).SelectMany(kv => kv.Value).Distinct().ToList();
        if (urls.Count == 0)
            throw new ConfigException("--initial-cluster-state existing needs the existing members in --initial-cluster to learn the cluster id from");
        var errors = new Dictionary<Uri, string>();
        var deadline = DateTime.UtcNow + FetchDeadline;
        while (true)
        {
            foreach (var url in urls)
            {
                try
                {
                    var answer = await PeerTransport.FetchClusterInfoAsync(url, memberId, null, cancellationToken).ConfigureAwait(false);
                    var list = MemberListResponse.Parser.ParseFrom(answer);
                    if (list.Header is null || list.Header.ClusterId == 0)
                        errors[url] = "answered without a cluster id";
                    else if (list.Members.All(m => m.ID != memberId))
                        errors[url] = $"its member list ({string.Join(", ", list.Members.Select(m => $"{m.ID:x16}"))}) does not name this member ({memberId:x16}); add it first with `etcdctl member add`";
                    else
                        return list;
                }
                catch (Exception e) when (e is IOException or InvalidProtocolBufferException)
                {
                    errors[url] = e.Message;
                }
            }

            if (DateTime.UtcNow >= deadline)
            {
                throw new ConfigException(
                    "--initial-cluster-state existing: could not learn the cluster id and member list from any peer in --initial-cluster: " +
                    string.Join("; ", errors.Select(kv => $"{kv.Key}: {kv.Value}")));
            }

            await Task.Delay(FetchRetryPause, cancellationToken).ConfigureAwait(false);
        }
    }
}
