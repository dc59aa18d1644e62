using Cairn.Protocol;

namespace Cairn.Node.Auth;

/// <summary>
/// etcd's auth errors as clients see them: message and gRPC code of etcd 3.4's
/// api/v3rpc/rpctypes. Clients (clientv3 re-authenticates on some) match on these strings.
/// </summary>
internal static class AuthErrors
{
    /// <summary>Enable without a root user.</summary>
    public static RpcException RootUserNotExist() => new(StatusCode.FailedPrecondition, "etcdserver: root user does not exist");

    /// <summary>Enable while the root user lacks the root role.</summary>
    public static RpcException RootRoleNotExist() => new(StatusCode.FailedPrecondition, "etcdserver: root user does not have root role");

    /// <summary>UserAdd of an existing name.</summary>
    public static RpcException UserAlreadyExist() => new(StatusCode.FailedPrecondition, "etcdserver: user name already exists");

    /// <summary>No user given (no token while auth is enabled, or an empty user name).</summary>
    public static RpcException UserEmpty() => new(StatusCode.InvalidArgument, "etcdserver: user name is empty");

    /// <summary>A user that does not exist.</summary>
    public static RpcException UserNotFound() => new(StatusCode.FailedPrecondition, "etcdserver: user name not found");

    /// <summary>RoleAdd of an existing name.</summary>
    public static RpcException RoleAlreadyExist() => new(StatusCode.FailedPrecondition, "etcdserver: role name already exists");

    /// <summary>A role that does not exist.</summary>
    public static RpcException RoleNotFound() => new(StatusCode.FailedPrecondition, "etcdserver: role name not found");

    /// <summary>RoleAdd with an empty name.</summary>
    public static RpcException RoleEmpty() => new(StatusCode.InvalidArgument, "etcdserver: role name is empty");

    /// <summary>Wrong user or password.</summary>
    public static RpcException AuthFailed() => new(StatusCode.InvalidArgument, "etcdserver: authentication failed, invalid user ID or password");

    /// <summary>The user's roles do not allow the operation.</summary>
    public static RpcException PermissionDenied() => new(StatusCode.PermissionDenied, PermissionDeniedMessage);

    /// <summary>The message of <see cref="PermissionDenied"/> (also a watch's cancel reason).</summary>
    public const string PermissionDeniedMessage = "etcdserver: permission denied";

    /// <summary>UserRevokeRole of a role the user does not have.</summary>
    public static RpcException RoleNotGranted() => new(StatusCode.FailedPrecondition, "etcdserver: role is not granted to the user");

    /// <summary>RoleRevokePermission of a permission the role does not have.</summary>
    public static RpcException PermissionNotGranted() => new(StatusCode.FailedPrecondition, "etcdserver: permission is not granted to the role");

    /// <summary>RoleGrantPermission without a permission.</summary>
    public static RpcException PermissionNotGiven() => new(StatusCode.InvalidArgument, "etcdserver: permission not given");

    /// <summary>Authenticate while auth is disabled.</summary>
    public static RpcException AuthNotEnabled() => new(StatusCode.FailedPrecondition, "etcdserver: authentication is not enabled");

    /// <summary>A token this member does not know (expired, invalidated, or from before a restart).</summary>
    public static RpcException InvalidAuthToken() => new(StatusCode.Unauthenticated, "etcdserver: invalid auth token");

    /// <summary>Deleting root, the root role, or root's root role while auth is enabled.</summary>
    public static RpcException InvalidAuthMgmt() => new(StatusCode.InvalidArgument, "etcdserver: invalid auth management");

    /// <summary>The auth store changed between the token check and the apply.</summary>
    public static RpcException AuthOldRevision() => new(StatusCode.InvalidArgument, "etcdserver: revision of auth store is old");

    /// <summary>
    /// The error as etcd 3.4's maintenance server returns it: the auth package's own error,
    /// untranslated, which gRPC sends as Unknown with the "auth: ..." text.
    /// </summary>
    public static RpcException Untranslated(RpcException error) => new(StatusCode.Unknown, error.Message switch
    {
        "etcdserver: user name is empty" => "auth: user name is empty",
        "etcdserver: user name not found" => "auth: user not found",
        "etcdserver: invalid auth token" => "auth: invalid auth token",
        "etcdserver: permission denied" => "auth: permission denied",
        var other => other,
    });
}
