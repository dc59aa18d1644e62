using Cairn.Node.Auth;
using Cairnpb;
using Etcdserverpb;
using Google.Protobuf;

namespace Cairn.Node;

public sealed partial class Member
{
    // Authenticate retries when the auth store changed between the password check and the apply
    // (etcd loops until it did not); bounded here.
    private const int AuthenticateAttempts = 5;

    /// <summary>The replicated users, roles and permissions, and this member's tokens.</summary>
    internal AuthStore Auth { get; }

    /// <summary>
    /// Who makes the current call (etcd's AuthInfoFromCtx): no token → no user; a token this
    /// member does not know yet may come from an Authenticate it has not applied (the client
    /// got it from another member), so it waits for a linearizable read once before refusing it.
    /// </summary>
    internal async ValueTask<AuthInfo> AuthorAsync(CancellationToken cancellationToken)
    {
        var token = CallToken.Current;
        if (token is null)
            return AuthInfo.None;
        if (Auth.InfoFromToken(token) is { } info)
            return info;
        if (SimpleTokens.IndexOf(token) > Consensus.AppliedIndex)
        {
            await Consensus.WaitForLinearizableReadAsync(cancellationToken).ConfigureAwait(false);
            if (Auth.InfoFromToken(token) is { } late)
                return late;
        }

        throw AuthErrors.InvalidAuthToken();
    }

    // Every proposal carries its author, checked at apply (etcd's RequestHeader username/auth_revision).
    private async ValueTask StampAuthorAsync(InternalRequest request, CancellationToken cancellationToken)
    {
        if (request.RequestCase == InternalRequest.RequestOneofCase.Authenticate)
            return; // a login needs no identity (and an expired token must not block it)
        var author = await AuthorAsync(cancellationToken).ConfigureAwait(false);
        request.AuthUser = author.Username;
        request.AuthRevision = author.Revision;
    }

    /// <summary>
    /// Maintenance calls that only root may make (etcd 3.4: Hash, HashKV, Defragment, Snapshot,
    /// MoveLeader) answer its auth package's untranslated errors, code Unknown.
    /// </summary>
    internal async ValueTask CheckAdminAsync(CancellationToken cancellationToken)
    {
        try
        {
            Auth.CheckAdmin(await AuthorAsync(cancellationToken).ConfigureAwait(false));
        }
        catch (Cairn.Protocol.RpcException e)
        {
            throw AuthErrors.Untranslated(e);
        }
    }

    /// <summary>
    /// etcd's isWatchPermitted: read permission on the watched range, else the watch is refused
    /// with "permission denied" (also for a token this member does not know).
    /// </summary>
    internal async ValueTask<string?> AuthorizeWatchAsync(WatchCreateRequest request, CancellationToken cancellationToken)
    {
        if (!Auth.Enabled)
            return null;
        try
        {
            var key = request.Key.IsEmpty ? ByteString.CopyFrom(0) : request.Key;
            Auth.CheckRange(await AuthorAsync(cancellationToken).ConfigureAwait(false), key, request.RangeEnd);
            return null;
        }
        catch (Cairn.Protocol.RpcException)
        {
            // etcd puts the text of its gRPC error value there: "rpc error: code = ... desc = ...".
            return $"rpc error: code = PermissionDenied desc = {AuthErrors.PermissionDeniedMessage}";
        }
    }

    /// <summary>AuthEnable, replicated.</summary>
    public Task<AuthEnableResponse> AuthEnableAsync(AuthEnableRequest request, CancellationToken cancellationToken) =>
        ProposeAuthAsync<AuthEnableResponse>(new InternalRequest { AuthEnable = request }, cancellationToken);

    /// <summary>AuthDisable, replicated.</summary>
    public Task<AuthDisableResponse> AuthDisableAsync(AuthDisableRequest request, CancellationToken cancellationToken) =>
        ProposeAuthAsync<AuthDisableResponse>(new InternalRequest { AuthDisable = request }, cancellationToken);

    /// <summary>AuthStatus, served locally (etcd 3.5's call; 3.4's etcdctl does not use it).</summary>
    public AuthStatusResponse AuthStatus() => new()
    {
        Header = Header(Store.Revision),
        Enabled = Auth.Enabled,
        AuthRevision = Auth.Revision,
    };

    /// <summary>
    /// Authenticate: the password is checked here, on the proposer (hashing is the costly part;
    /// the log never carries the password), then the token is replicated so that every member
    /// accepts it. If the auth store changed meanwhile, the check is repeated, as etcd does.
    /// </summary>
    public async Task<AuthenticateResponse> AuthenticateAsync(AuthenticateRequest request, CancellationToken cancellationToken)
    {
        await Consensus.WaitForLinearizableReadAsync(cancellationToken).ConfigureAwait(false);
        AuthenticateResponse? response = null;
        for (var attempt = 0; attempt < AuthenticateAttempts; attempt++)
        {
            var checkedAt = Auth.CheckPassword(request.Name, request.Password);
            response = await ProposeAuthAsync<AuthenticateResponse>(new InternalRequest
            {
                Authenticate = new InternalAuthenticateRequest { Name = request.Name, SimpleToken = SimpleTokens.NewPrefix() },
            }, cancellationToken).ConfigureAwait(false);
            if (checkedAt == Auth.Revision)
                break;
        }

        return response!;
    }

    /// <summary>UserAdd: the password is hashed here and only the hash is replicated.</summary>
    public Task<AuthUserAddResponse> UserAddAsync(AuthUserAddRequest request, CancellationToken cancellationToken)
    {
        var hashed = request.Options is { NoPassword: true } ? string.Empty : PasswordHash.Hash(request.Password);
        var command = new AuthUserAddRequest(request) { Password = string.Empty, HashedPassword = hashed };
        return ProposeAuthAsync<AuthUserAddResponse>(new InternalRequest { UserAdd = command }, cancellationToken);
    }

    /// <summary>UserChangePassword: hashed here, as UserAdd.</summary>
    public Task<AuthUserChangePasswordResponse> UserChangePasswordAsync(AuthUserChangePasswordRequest request, CancellationToken cancellationToken)
    {
        var command = new AuthUserChangePasswordRequest(request) { Password = string.Empty, HashedPassword = PasswordHash.Hash(request.Password) };
        return ProposeAuthAsync<AuthUserChangePasswordResponse>(new InternalRequest { UserChangePassword = command }, cancellationToken);
    }

    /// <summary>UserGet, replicated as in etcd 3.4 (so it is linearizable and checked at apply).</summary>
    public Task<AuthUserGetResponse> UserGetAsync(AuthUserGetRequest request, CancellationToken cancellationToken) =>
        ProposeAuthAsync<AuthUserGetResponse>(new InternalRequest { UserGet = request }, cancellationToken);

    /// <summary>UserList, replicated.</summary>
    public Task<AuthUserListResponse> UserListAsync(AuthUserListRequest request, CancellationToken cancellationToken) =>
        ProposeAuthAsync<AuthUserListResponse>(new InternalRequest { UserList = request }, cancellationToken);

    /// <summary>UserDelete, replicated.</summary>
    public Task<AuthUserDeleteResponse> UserDeleteAsync(AuthUserDeleteRequest request, CancellationToken cancellationToken) =>
        ProposeAuthAsync<AuthUserDeleteResponse>(new InternalRequest { UserDelete = request }, cancellationToken);

    /// <summary>UserGrantRole, replicated.</summary>
    public Task<AuthUserGrantRoleResponse> UserGrantRoleAsync(AuthUserGrantRoleRequest request, CancellationToken cancellationToken) =>
        ProposeAuthAsync<AuthUserGrantRoleResponse>(new InternalRequest { UserGrantRole = request }, cancellationToken);

    /// <summary>UserRevokeRole, replicated.</summary>
    public Task<AuthUserRevokeRoleResponse> UserRevokeRoleAsync(AuthUserRevokeRoleRequest request, CancellationToken cancellationToken) =>
        ProposeAuthAsync<AuthUserRevokeRoleResponse>(new InternalRequest { UserRevokeRole = request }, cancellationToken);

    /// <summary>RoleAdd, replicated.</summary>
    public Task<AuthRoleAddResponse> RoleAddAsync(AuthRoleAddRequest request, CancellationToken cancellationToken) =>
        ProposeAuthAsync<AuthRoleAddResponse>(new InternalRequest { RoleAdd = request }, cancellationToken);

    /// <summary>RoleGet, replicated.</summary>
    public Task<AuthRoleGetResponse> RoleGetAsync(AuthRoleGetRequest request, CancellationToken cancellationToken) =>
        ProposeAuthAsync<AuthRoleGetResponse>(new InternalRequest { RoleGet = request }, cancellationToken);

    /// <summary>RoleList, replicated.</summary>
    public Task<AuthRoleListResponse> RoleListAsync(AuthRoleListRequest request, CancellationToken cancellationToken) =>
        ProposeAuthAsync<AuthRoleListResponse>(new InternalRequest { RoleList = request }, cancellationToken);

    /// <summary>RoleDelete, replicated.</summary>
    public Task<AuthRoleDeleteResponse> RoleDeleteAsync(AuthRoleDeleteRequest request, CancellationToken cancellationToken) =>
        ProposeAuthAsync<AuthRoleDeleteResponse>(new InternalRequest { RoleDelete = request }, cancellationToken);

    /// <summary>RoleGrantPermission, replicated.</summary>
    public Task<AuthRoleGrantPermissionResponse> RoleGrantPermissionAsync(AuthRoleGrantPermissionRequest request, CancellationToken cancellationToken) =>
        ProposeAuthAsync<AuthRoleGrantPermissionResponse>(new InternalRequest { RoleGrantPermission = request }, cancellationToken);

    /// <summary>RoleRevokePermission, replicated.</summary>
    public Task<AuthRoleRevokePermissionResponse> RoleRevokePermissionAsync(AuthRoleRevokePermissionRequest request, CancellationToken cancellationToken) =>
        ProposeAuthAsync<AuthRoleRevokePermissionResponse>(new InternalRequest { RoleRevokePermission = request }, cancellationToken);

    // The apply set the header's revision; cluster, member and term are this member's.
    private async Task<T> ProposeAuthAsync<T>(InternalRequest request, CancellationToken cancellationToken) where T : class, IMessage
    {
        var response = await ProposeAsync<T>(request, cancellationToken).ConfigureAwait(false);
        var header = ResponseHeaders.Of(response);
        header.ClusterId = ClusterId;
        header.MemberId = MemberId;
        header.RaftTerm = Consensus.Term;
        return response;
    }
}
