using System.Text;
using Authpb;
using Etcdserverpb;
using Google.Protobuf;

namespace Cairn.Node.Auth;

/// <summary>
/// etcd 3.4's auth store: users, roles, their key permissions, the enabled flag and the auth
/// revision (starts at 1; every change of users, roles or permissions and every disable adds
/// one; enable does not, as in etcd). Changes are made only by the apply loop (methods named
/// Apply*), in log order, so every member holds the same store; request threads read it for
/// permission checks and tokens. All state is behind one lock.
/// </summary>
internal sealed partial class AuthStore
{
    /// <summary>The user that must exist, with the root role, before auth can be enabled.</summary>
    public const string RootUser = "root";

    /// <summary>The role that grants every permission and the auth administration.</summary>
    public const string RootRole = "root";

    private readonly Lock _lock = new();
    private readonly SortedDictionary<string, User> _users = new(StringComparer.Ordinal);
    private readonly SortedDictionary<string, Role> _roles = new(StringComparer.Ordinal);
    private bool _enabled;
    private ulong _revision = 1;

    /// <summary>Creates an empty, disabled store; <paramref name="tokens"/> defaults to a new table.</summary>
    public AuthStore(SimpleTokens? tokens = null) => Tokens = tokens ?? new SimpleTokens();

    /// <summary>The simple tokens issued by this member's applies.</summary>
    public SimpleTokens Tokens { get; }

    /// <summary>True once AuthEnable was applied (and no AuthDisable since).</summary>
    public bool Enabled
    {
        get
        {
            lock (_lock)
                return _enabled;
        }
    }

    /// <summary>The auth revision: grows with every change of the store.</summary>
    public ulong Revision
    {
        get
        {
            lock (_lock)
                return _revision;
        }
    }

    /// <summary>AuthEnable: needs the root user with the root role; enabling twice is not an error.</summary>
    public AuthEnableResponse ApplyEnable()
    {
        lock (_lock)
        {
            if (_enabled)
                return new AuthEnableResponse();
            if (!_users.TryGetValue(RootUser, out var root))
                throw AuthErrors.RootUserNotExist();
            if (!HasRootRole(root))
                throw AuthErrors.RootRoleNotExist();
            _enabled = true;
            return new AuthEnableResponse();
        }
    }

    /// <summary>AuthDisable: every token becomes invalid.</summary>
    public AuthDisableResponse ApplyDisable()
    {
        lock (_lock)
        {
            if (!_enabled)
                return new AuthDisableResponse();
            _enabled = false;
            _revision++;
            Tokens.Clear();
            return new AuthDisableResponse();
        }
    }

    /// <summary>
    /// Authenticate as applied: the proposer checked the password already; here the token is
    /// assigned, if the user still exists and may log in.
    /// </summary>
    public AuthenticateResponse ApplyAuthenticate(string name, string token)
    {
        lock (_lock)
        {
            if (!_enabled)
                throw AuthErrors.AuthNotEnabled();
            if (!_users.TryGetValue(name, out var user) || user.Options is { NoPassword: true })
                throw AuthErrors.AuthFailed();
            Tokens.Assign(token, name);
            return new AuthenticateResponse { Token = token };
        }
    }

    /// <summary>
    /// Checks a password (on the proposer, before Authenticate is proposed); returns the auth
    /// revision it was checked at. The hash runs outside the lock.
    /// </summary>
    public ulong CheckPassword(string name, string password)
    {
        string hash;
        ulong revision;
        lock (_lock)
        {
            if (!_enabled)
                throw AuthErrors.AuthNotEnabled();
            if (!_users.TryGetValue(name, out var user) || user.Options is { NoPassword: true })
                throw AuthErrors.AuthFailed();
            hash = user.Password.ToStringUtf8();
            revision = _revision;
        }

        if (!PasswordHash.Verify(password, hash))
            throw AuthErrors.AuthFailed();
        return revision;
    }

    /// <summary>UserAdd; the request carries the proposer's hash in hashedPassword.</summary>
    public AuthUserAddResponse ApplyUserAdd(AuthUserAddRequest request)
    {
        if (request.Name.Length == 0)
            throw AuthErrors.UserEmpty();
        lock (_lock)
        {
            if (_users.ContainsKey(request.Name))
                throw AuthErrors.UserAlreadyExist();
            var options = request.Options ?? new UserAddOptions();
            _users[request.Name] = new User
            {
                Name = ByteString.CopyFromUtf8(request.Name),
                Password = options.NoPassword ? ByteString.Empty : ByteString.CopyFromUtf8(request.HashedPassword),
                Options = options.Clone(),
            };
            _revision++;
            return new AuthUserAddResponse();
        }
    }

    /// <summary>UserDelete; root cannot be deleted while auth is enabled. The user's tokens die.</summary>
    public AuthUserDeleteResponse ApplyUserDelete(AuthUserDeleteRequest request)
    {
        lock (_lock)
        {
            if (_enabled && request.Name == RootUser)
                throw AuthErrors.InvalidAuthMgmt();
            if (!_users.Remove(request.Name))
                throw AuthErrors.UserNotFound();
            _revision++;
            Tokens.InvalidateUser(request.Name);
            return new AuthUserDeleteResponse();
        }
    }

    /// <summary>UserChangePassword; the request carries the proposer's hash. The user's tokens die.</summary>
    public AuthUserChangePasswordResponse ApplyUserChangePassword(AuthUserChangePasswordRequest request)
    {
        lock (_lock)
        {
            if (!_users.TryGetValue(request.Name, out var user))
                throw AuthErrors.UserNotFound();
            user.Password = ByteString.CopyFromUtf8(request.HashedPassword);
            _revision++;
            Tokens.InvalidateUser(request.Name);
            return new AuthUserChangePasswordResponse();
        }
    }

    /// <summary>UserGrantRole; the root role needs no RoleAdd. Granting a role twice changes nothing.</summary>
    public AuthUserGrantRoleResponse ApplyUserGrantRole(AuthUserGrantRoleRequest request)
    {
        lock (_lock)
        {
            if (!_users.TryGetValue(request.User, out var user))
                throw AuthErrors.UserNotFound();
            if (request.Role != RootRole && !_roles.ContainsKey(request.Role))
                throw AuthErrors.RoleNotFound();
            if (user.Roles.Contains(request.Role))
                return new AuthUserGrantRoleResponse();
            var roles = user.Roles.Append(request.Role).Order(StringComparer.Ordinal).ToList();
            user.Roles.Clear();
            user.Roles.AddRange(roles);
            _revision++;
            return new AuthUserGrantRoleResponse();
        }
    }

    /// <summary>UserRevokeRole; root keeps the root role while auth is enabled.</summary>
    public AuthUserRevokeRoleResponse ApplyUserRevokeRole(AuthUserRevokeRoleRequest request)
    {
        lock (_lock)
        {
            if (_enabled && request.Name == RootUser && request.Role == RootRole)
                throw AuthErrors.InvalidAuthMgmt();
            if (!_users.TryGetValue(request.Name, out var user))
                throw AuthErrors.UserNotFound();
            if (!user.Roles.Remove(request.Role))
                throw AuthErrors.RoleNotGranted();
            _revision++;
            return new AuthUserRevokeRoleResponse();
        }
    }

    /// <summary>UserGet: the user's roles.</summary>
    public AuthUserGetResponse UserGet(AuthUserGetRequest request)
    {
        lock (_lock)
        {
            if (!_users.TryGetValue(request.Name, out var user))
                throw AuthErrors.UserNotFound();
            return new AuthUserGetResponse { Roles = { user.Roles } };
        }
    }

    /// <summary>UserList: every user name, in byte order.</summary>
    public AuthUserListResponse UserList()
    {
        lock (_lock)
            return new AuthUserListResponse { Users = { _users.Keys } };
    }

    /// <summary>RoleAdd.</summary>
    public AuthRoleAddResponse ApplyRoleAdd(AuthRoleAddRequest request)
    {
        if (request.Name.Length == 0)
            throw AuthErrors.RoleEmpty();
        lock (_lock)
        {
            if (_roles.ContainsKey(request.Name))
                throw AuthErrors.RoleAlreadyExist();
            _roles[request.Name] = new Role { Name = ByteString.CopyFromUtf8(request.Name) };
            _revision++;
            return new AuthRoleAddResponse();
        }
    }

    /// <summary>RoleGet: the role's permissions, sorted by key.</summary>
    public AuthRoleGetResponse RoleGet(AuthRoleGetRequest request)
    {
        lock (_lock)
        {
            if (!_roles.TryGetValue(request.Role, out var role))
                throw AuthErrors.RoleNotFound();
            return new AuthRoleGetResponse { Perm = { role.KeyPermission.Select(p => p.Clone()) } };
        }
    }

    /// <summary>RoleList: every role name, in byte order.</summary>
    public AuthRoleListResponse RoleList()
    {
        lock (_lock)
            return new AuthRoleListResponse { Roles = { _roles.Keys } };
    }

    /// <summary>RoleDelete: also taken from every user that had it; the root role stays while auth is enabled.</summary>
    public AuthRoleDeleteResponse ApplyRoleDelete(AuthRoleDeleteRequest request)
    {
        lock (_lock)
        {
            if (_enabled && request.Role == RootRole)
                throw AuthErrors.InvalidAuthMgmt();
            if (!_roles.Remove(request.Role))
                throw AuthErrors.RoleNotFound();
            foreach (var user in _users.Values)
                user.Roles.Remove(request.Role);
            _revision++;
            return new AuthRoleDeleteResponse();
        }
    }

    /// <summary>
    /// RoleGrantPermission: a permission with the same key and range end as the first one at or
    /// after its key (etcd's binary search) changes type; otherwise it is added, keeping key order.
    /// </summary>
    public AuthRoleGrantPermissionResponse ApplyRoleGrantPermission(AuthRoleGrantPermissionRequest request)
    {
        if (request.Perm is null)
            throw AuthErrors.PermissionNotGiven();
        lock (_lock)
        {
            if (!_roles.TryGetValue(request.Name, out var role))
                throw AuthErrors.RoleNotFound();
            var perms = role.KeyPermission;
            var index = 0;
            while (index < perms.Count && ByteKeyCompare(perms[index].Key, request.Perm.Key) < 0)
                index++;
            if (index < perms.Count && perms[index].Key == request.Perm.Key && perms[index].RangeEnd == request.Perm.RangeEnd)
            {
                perms[index].PermType = request.Perm.PermType;
            }
            else
            {
                var sorted = perms.Append(new Permission { Key = request.Perm.Key, RangeEnd = request.Perm.RangeEnd, PermType = request.Perm.PermType })
                    .OrderBy(p => p.Key, Comparer<ByteString>.Create(ByteKeyCompare)).ToList();
                perms.Clear();
                perms.AddRange(sorted);
            }

            _revision++;
            return new AuthRoleGrantPermissionResponse();
        }
    }

    /// <summary>RoleRevokePermission: removes the permissions with exactly this key and range end.</summary>
    public AuthRoleRevokePermissionResponse ApplyRoleRevokePermission(AuthRoleRevokePermissionRequest request)
    {
        lock (_lock)
        {
            if (!_roles.TryGetValue(request.Role, out var role))
                throw AuthErrors.RoleNotFound();
            var kept = role.KeyPermission.Where(p => p.Key != request.Key || p.RangeEnd != request.RangeEnd).ToList();
            if (kept.Count == role.KeyPermission.Count)
                throw AuthErrors.PermissionNotGranted();
            role.KeyPermission.Clear();
            role.KeyPermission.AddRange(kept);
            _revision++;
            return new AuthRoleRevokePermissionResponse();
        }
    }

    /// <summary>True when <paramref name="user"/> exists and has <paramref name="role"/>.</summary>
    public bool HasRole(string user, string role)
    {
        lock (_lock)
            return _users.TryGetValue(user, out var u) && u.Roles.Contains(role);
    }

    private static bool HasRootRole(User user) => user.Roles.Contains(RootRole);

    private static int ByteKeyCompare(ByteString? a, ByteString? b) =>
        (a ?? ByteString.Empty).Span.SequenceCompareTo((b ?? ByteString.Empty).Span);

    /// <summary>A user name as a key for the maps (names are strings on the wire, bytes in authpb).</summary>
    private static string NameOf(ByteString name) => Encoding.UTF8.GetString(name.Span);
}
