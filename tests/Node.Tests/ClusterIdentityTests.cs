using Cairn.Node;
using Etcdserverpb;
using Xunit;

namespace Cairn.Node.Tests;

/// <summary>A joiner's --initial-cluster against the member list its peers answered (etcd's ValidateClusterAndAssignIDs).</summary>
public sealed class ClusterIdentityTests
{
    private static MemberConfig Joiner(string initialCluster) =>
        MemberConfig.Parse(["--name", "n4", "--initial-cluster", initialCluster, "--initial-cluster-state", "existing"]);

    private static MemberListResponse Cluster(params string[] peerUrls)
    {
        var list = new MemberListResponse();
        for (var i = 0; i < peerUrls.Length; i++)
            list.Members.Add(new Etcdserverpb.Member { ID = (ulong)i + 1, PeerURLs = { peerUrls[i].Split(',') } });
        return list;
    }

    [Fact]
    public void TheListThatMemberAddPrintsIsAccepted()
    {
        var config = Joiner("n2=http://127.0.0.1:2480,n3=http://127.0.0.1:2580,n4=http://127.0.0.1:2680,n4=http://10.0.0.4:2680");
        ClusterIdentity.CheckMatchesFlags(config, Cluster("http://127.0.0.1:2480", "http://127.0.0.1:2580/", "http://10.0.0.4:2680,http://127.0.0.1:2680"));
    }

    [Fact]
    public void AListMissingAMemberIsRefusedAsEtcdDoes()
    {
        var config = Joiner("n3=http://127.0.0.1:2580,n4=http://127.0.0.1:2680");
        var e = Assert.Throws<ConfigException>(() => ClusterIdentity.CheckMatchesFlags(config, Cluster("http://127.0.0.1:2480", "http://127.0.0.1:2580", "http://127.0.0.1:2680")));
        Assert.Contains("member count is unequal", e.Message);
    }

    [Fact]
    public void AListNamingARemovedMemberIsRefused()
    {
        var config = Joiner("n1=http://127.0.0.1:2380,n3=http://127.0.0.1:2580,n4=http://127.0.0.1:2680");
        var e = Assert.Throws<ConfigException>(() => ClusterIdentity.CheckMatchesFlags(config, Cluster("http://127.0.0.1:2480", "http://127.0.0.1:2580", "http://127.0.0.1:2680")));
        Assert.Contains("unmatched member while checking PeerURLs (n1=http://127.0.0.1:2380", e.Message);
    }
}
