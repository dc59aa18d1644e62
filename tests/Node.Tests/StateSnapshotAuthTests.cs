using Cairn.Mvcc;
using Cairn.Node.Auth;
using Etcdserverpb;

namespace Cairn.Node.Tests;

/// <summary>The member's state snapshot carries the auth store, so restarts and snapshot installs keep it.</summary>
public sealed class StateSnapshotAuthTests
{
    private static (ClusterMembers, Lessor, KvStore) Parts()
    {
        var lessor = new Lessor(1);
        var store = new KvStore(new MvccOptions { LeaseExists = lessor.Exists });
        lessor.Attach(store);
        return (new ClusterMembers(), lessor, store);
    }

    [Fact]
    public void AuthSurvivesASnapshotRoundTrip()
    {
        var (members, lessor, store) = Parts();
        var auth = new AuthStore();
        auth.ApplyUserAdd(new AuthUserAddRequest { Name = "root", HashedPassword = PasswordHash.Hash("pw") });
        auth.ApplyUserGrantRole(new AuthUserGrantRoleRequest { User = "root", Role = "root" });
        auth.ApplyEnable();
        var bytes = StateSnapshot.Write(7, members, lessor, store, auth);

        var (members2, lessor2, store2) = Parts();
        var restored = new AuthStore();
        Assert.Equal(7UL, StateSnapshot.Read(bytes, members2, lessor2, store2, restored));
        Assert.True(restored.Enabled);
        Assert.Equal(auth.Revision, restored.Revision);
        Assert.Equal(auth.CheckPassword("root", "pw"), restored.CheckPassword("root", "pw"));
    }
}
