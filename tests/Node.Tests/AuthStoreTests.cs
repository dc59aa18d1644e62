using System.Diagnostics;
using Authpb;
using Cairn.Mvcc;
using Cairn.Node.Auth;
using Cairn.Protocol;
using Cairnpb;
using Etcdserverpb;
using Google.Protobuf;

namespace Cairn.Node.Tests;

/// <summary>The auth store against etcd 3.4's rules: enabling, revisions, permissions, tokens, snapshots.</summary>
public sealed class AuthStoreTests
{
    private static ByteString B(string s) => ByteString.CopyFromUtf8(s);

    private static AuthStore EnabledWithRoot(SimpleTokens? tokens = null)
    {
        var auth = new AuthStore(tokens);
        auth.ApplyUserAdd(new AuthUserAddRequest { Name = "root", HashedPassword = PasswordHash.Hash("rootpw") });
        auth.ApplyUserGrantRole(new AuthUserGrantRoleRequest { User = "root", Role = "root" });
        auth.ApplyEnable();
        return auth;
    }

    private static AuthInfo UserWithPermissions(AuthStore auth, string user, params Permission[] perms)
    {
        auth.ApplyUserAdd(new AuthUserAddRequest { Name = user, HashedPassword = PasswordHash.Hash("pw") });
        auth.ApplyRoleAdd(new AuthRoleAddRequest { Name = user + "-role" });
        foreach (var perm in perms)
            auth.ApplyRoleGrantPermission(new AuthRoleGrantPermissionRequest { Name = user + "-role", Perm = perm });
        auth.ApplyUserGrantRole(new AuthUserGrantRoleRequest { User = user, Role = user + "-role" });
        return new AuthInfo(user, auth.Revision);
    }

    private static Permission Perm(Permission.Types.Type type, string key, string end = "") => new() { PermType = type, Key = B(key), RangeEnd = B(end) };

    private static void Denied(Action action, string message) =>
        Assert.Equal(message, Assert.Throws<RpcException>(action).Message);

    [Fact]
    public void EnableNeedsRootUserWithRootRole()
    {
        var auth = new AuthStore();
        Denied(() => auth.ApplyEnable(), "etcdserver: root user does not exist");
        auth.ApplyUserAdd(new AuthUserAddRequest { Name = "root", HashedPassword = PasswordHash.Hash("x") });
        Denied(() => auth.ApplyEnable(), "etcdserver: root user does not have root role");
        auth.ApplyUserGrantRole(new AuthUserGrantRoleRequest { User = "root", Role = "root" });
        auth.ApplyEnable();
        Assert.True(auth.Enabled);
    }

    [Fact]
    public void RevisionCountsChangesButNotEnable()
    {
        var auth = new AuthStore();
        Assert.Equal(1UL, auth.Revision);
        auth.ApplyUserAdd(new AuthUserAddRequest { Name = "root", HashedPassword = "h" });
        auth.ApplyUserGrantRole(new AuthUserGrantRoleRequest { User = "root", Role = "root" });
        auth.ApplyUserGrantRole(new AuthUserGrantRoleRequest { User = "root", Role = "root" }); // already granted: no change
        Assert.Equal(3UL, auth.Revision);
        auth.ApplyEnable();
        Assert.Equal(3UL, auth.Revision);
        auth.ApplyDisable();
        Assert.Equal(4UL, auth.Revision);
    }

    [Fact]
    public void RootIsProtectedWhileEnabled()
    {
        var auth = EnabledWithRoot();
        Denied(() => auth.ApplyUserDelete(new AuthUserDeleteRequest { Name = "root" }), "etcdserver: invalid auth management");
        Denied(() => auth.ApplyRoleDelete(new AuthRoleDeleteRequest { Role = "root" }), "etcdserver: invalid auth management");
        Denied(() => auth.ApplyUserRevokeRole(new AuthUserRevokeRoleRequest { Name = "root", Role = "root" }), "etcdserver: invalid auth management");
        auth.ApplyDisable();
        auth.ApplyUserDelete(new AuthUserDeleteRequest { Name = "root" });
    }

    [Fact]
    public void ChecksNeedAUserAndACurrentRevision()
    {
        var auth = EnabledWithRoot();
        Denied(() => auth.CheckRange(AuthInfo.None, B("k"), ByteString.Empty), "etcdserver: user name is empty");
        var root = new AuthInfo("root", auth.Revision);
        auth.CheckPut(root, B("anything"));
        auth.ApplyRoleAdd(new AuthRoleAddRequest { Name = "r" });
        Denied(() => auth.CheckPut(root, B("anything")), "etcdserver: revision of auth store is old");
        Denied(() => auth.CheckAdmin(AuthInfo.None), "etcdserver: user name is empty");
        Denied(() => auth.CheckAdmin(new AuthInfo("ghost", auth.Revision)), "etcdserver: user name not found");
        auth.ApplyDisable();
        auth.CheckPut(AuthInfo.None, B("k")); // disabled: nothing is checked
    }

    [Fact]
    public void PrefixRangeFromKeyAndSingleKeyPermissions()
    {
        var auth = EnabledWithRoot();
        var u = UserWithPermissions(auth, "u",
            Perm(Permission.Types.Type.Read, "a", "b"),      // prefix a
            Perm(Permission.Types.Type.Write, "b", "c"),
            Perm(Permission.Types.Type.Readwrite, "z", "\0"), // from z
            Perm(Permission.Types.Type.Readwrite, "k1"));     // one key
        auth.CheckRange(u, B("a1"), ByteString.Empty);
        auth.CheckRange(u, B("a"), B("b"));
        Denied(() => auth.CheckRange(u, B("a"), B("c")), "etcdserver: permission denied");
        Denied(() => auth.CheckPut(u, B("a1")), "etcdserver: permission denied");
        auth.CheckPut(u, B("b1"));
        Denied(() => auth.CheckRange(u, B("b1"), ByteString.Empty), "etcdserver: permission denied");
        auth.CheckRange(u, B("zzz"), B("\0"));
        Denied(() => auth.CheckRange(u, B("y"), B("\0")), "etcdserver: permission denied");
        auth.CheckPut(u, B("k1"));
        auth.CheckRange(u, B("k1"), B("k1\0"));
        Denied(() => auth.CheckPut(u, B("k10")), "etcdserver: permission denied");
        Denied(() => auth.CheckRange(u, B("k1"), B("k2")), "etcdserver: permission denied");
    }

    [Fact]
    public void AdjacentPermissionsOfSeveralRolesCoverARangeTogether()
    {
        var auth = EnabledWithRoot();
        var u = UserWithPermissions(auth, "u", Perm(Permission.Types.Type.Read, "a", "c"));
        auth.ApplyRoleAdd(new AuthRoleAddRequest { Name = "more" });
        auth.ApplyRoleGrantPermission(new AuthRoleGrantPermissionRequest { Name = "more", Perm = Perm(Permission.Types.Type.Readwrite, "c", "e") });
        Denied(() => auth.CheckRange(new AuthInfo("u", auth.Revision), B("b"), B("d")), "etcdserver: permission denied");
        auth.ApplyUserGrantRole(new AuthUserGrantRoleRequest { User = "u", Role = "more" });
        u = new AuthInfo("u", auth.Revision);
        auth.CheckRange(u, B("b"), B("d"));
        auth.CheckRange(u, B("a"), B("e"));
        Denied(() => auth.CheckRange(u, B("a"), B("f")), "etcdserver: permission denied");
    }

    [Fact]
    public void GrantingTheSameRangeAgainChangesItsTypeAndRevokeNeedsExactRange()
    {
        var auth = EnabledWithRoot();
        UserWithPermissions(auth, "u", Perm(Permission.Types.Type.Read, "b"), Perm(Permission.Types.Type.Read, "a", "b"));
        auth.ApplyRoleGrantPermission(new AuthRoleGrantPermissionRequest { Name = "u-role", Perm = Perm(Permission.Types.Type.Write, "a", "b") });
        var perms = auth.RoleGet(new AuthRoleGetRequest { Role = "u-role" }).Perm;
        Assert.Equal(["a", "b"], perms.Select(p => p.Key.ToStringUtf8()));
        Assert.Equal(Permission.Types.Type.Write, perms[0].PermType);
        Denied(() => auth.ApplyRoleRevokePermission(new AuthRoleRevokePermissionRequest { Role = "u-role", Key = B("a") }), "etcdserver: permission is not granted to the role");
        auth.ApplyRoleRevokePermission(new AuthRoleRevokePermissionRequest { Role = "u-role", Key = B("a"), RangeEnd = B("b") });
        Assert.Single(auth.RoleGet(new AuthRoleGetRequest { Role = "u-role" }).Perm);
    }

    [Fact]
    public void DeletingARoleTakesItFromItsUsers()
    {
        var auth = EnabledWithRoot();
        UserWithPermissions(auth, "u", Perm(Permission.Types.Type.Read, "k"));
        auth.ApplyRoleDelete(new AuthRoleDeleteRequest { Role = "u-role" });
        Assert.Empty(auth.UserGet(new AuthUserGetRequest { Name = "u" }).Roles);
        Denied(() => auth.CheckRange(new AuthInfo("u", auth.Revision), B("k"), ByteString.Empty), "etcdserver: permission denied");
    }

    [Fact]
    public void PasswordsAreCheckedAgainstTheHash()
    {
        var auth = EnabledWithRoot();
        Assert.Equal(auth.Revision, auth.CheckPassword("root", "rootpw"));
        Denied(() => auth.CheckPassword("root", "wrong"), "etcdserver: authentication failed, invalid user ID or password");
        Denied(() => auth.CheckPassword("nobody", "rootpw"), "etcdserver: authentication failed, invalid user ID or password");
        auth.ApplyUserAdd(new AuthUserAddRequest { Name = "np", Options = new UserAddOptions { NoPassword = true } });
        Denied(() => auth.CheckPassword("np", ""), "etcdserver: authentication failed, invalid user ID or password");
        Assert.DoesNotContain("rootpw", auth.FindUser("root")!.Password.ToStringUtf8(), StringComparison.Ordinal);
        Assert.False(PasswordHash.Verify("x", "not a hash"));
    }

    [Fact]
    public void TokensExpireAfterTheTtlUnlessUsedAndDieWithTheirUser()
    {
        var now = 0L;
        var tokens = new SimpleTokens(() => now);
        var auth = EnabledWithRoot(tokens);
        var ttl = (long)(SimpleTokens.Ttl.TotalSeconds * Stopwatch.Frequency);
        var token = auth.ApplyAuthenticate("root", SimpleTokens.Format(SimpleTokens.NewPrefix(), 42)).Token;
        Assert.Equal(42UL, SimpleTokens.IndexOf(token));
        now += ttl - 1;
        Assert.Equal("root", auth.InfoFromToken(token)?.Username); // used: lifetime restarts
        now += ttl - 1;
        Assert.NotNull(auth.InfoFromToken(token));
        now += ttl;
        Assert.Null(auth.InfoFromToken(token));

        var second = auth.ApplyAuthenticate("root", "abc.43").Token;
        auth.ApplyUserChangePassword(new AuthUserChangePasswordRequest { Name = "root", HashedPassword = PasswordHash.Hash("n") });
        Assert.Null(auth.InfoFromToken(second));
        var third = auth.ApplyAuthenticate("root", "abc.44").Token;
        auth.ApplyDisable();
        Assert.Null(auth.InfoFromToken(third));
        Denied(() => auth.ApplyAuthenticate("root", "abc.45"), "etcdserver: authentication is not enabled");
    }

    [Fact]
    public void SnapshotRestoresUsersRolesFlagAndRevision()
    {
        var auth = EnabledWithRoot();
        UserWithPermissions(auth, "u", Perm(Permission.Types.Type.Readwrite, "k"));
        var bytes = auth.Snapshot().ToByteArray();
        var copy = new AuthStore();
        copy.Restore(AuthSnapshot.Parser.ParseFrom(bytes));
        Assert.True(copy.Enabled);
        Assert.Equal(auth.Revision, copy.Revision);
        Assert.Equal(["root", "u"], copy.UserList().Users);
        Assert.Equal(["root"], copy.UserGet(new AuthUserGetRequest { Name = "root" }).Roles);
        copy.CheckPut(new AuthInfo("u", copy.Revision), B("k"));
        Assert.Equal(auth.FindUser("u")!.Password, copy.FindUser("u")!.Password);
    }

    [Fact]
    public void ApplyChecksTheAuthorStampedOnTheEntry()
    {
        var auth = EnabledWithRoot();
        var u = UserWithPermissions(auth, "u", Perm(Permission.Types.Type.Write, "k"));
        var store = new KvStore(new MvccOptions());
        var put = new InternalRequest { Put = new PutRequest { Key = B("k"), Value = B("v") }, AuthUser = "u", AuthRevision = u.Revision };
        AuthApply.Check(auth, store, put);
        put.Put.PrevKv = true; // needs read permission too
        Denied(() => AuthApply.Check(auth, store, put), "etcdserver: permission denied");
        var anonymous = new InternalRequest { Put = new PutRequest { Key = B("k") } };
        Denied(() => AuthApply.Check(auth, store, anonymous), "etcdserver: user name is empty");
        var txn = new InternalRequest { Txn = new TxnRequest(), AuthUser = "u", AuthRevision = u.Revision };
        txn.Txn.Success.Add(new RequestOp { RequestPut = new PutRequest { Key = B("k") } });
        AuthApply.Check(auth, store, txn);
        txn.Txn.Compare.Add(new Compare { Key = B("k") }); // compares read
        Denied(() => AuthApply.Check(auth, store, txn), "etcdserver: permission denied");
        var admin = new InternalRequest { UserList = new AuthUserListRequest(), AuthUser = "u", AuthRevision = u.Revision };
        Denied(() => AuthApply.Check(auth, store, admin), "etcdserver: permission denied");
        AuthApply.Check(auth, store, new InternalRequest { UserGet = new AuthUserGetRequest { Name = "u" }, AuthUser = "u", AuthRevision = u.Revision });
        AuthApply.Check(auth, store, new InternalRequest { RoleGet = new AuthRoleGetRequest { Role = "u-role" }, AuthUser = "u", AuthRevision = u.Revision });
        Denied(() => AuthApply.Check(auth, store, new InternalRequest { RoleGet = new AuthRoleGetRequest { Role = "root" }, AuthUser = "u", AuthRevision = u.Revision }),
            "etcdserver: permission denied");
    }
}
