using Cairn.Grpc;
using Etcdserverpb;
using static Cairn.Node.Services.ServiceRegistration;

namespace Cairn.Node.Services;

/// <summary>etcd's Auth service: authentication, users, roles and permissions.</summary>
internal static class AuthService
{
    private const string Prefix = "/etcdserverpb.Auth/";

    /// <summary>Registers the service's methods.</summary>
    public static void Map(GrpcServiceRegistry registry, Member member)
    {
        Unary<AuthEnableRequest, AuthEnableResponse>(registry, member, Prefix + "AuthEnable", AuthEnableRequest.Parser, member.AuthEnableAsync);
        Unary<AuthDisableRequest, AuthDisableResponse>(registry, member, Prefix + "AuthDisable", AuthDisableRequest.Parser, member.AuthDisableAsync);
        Unary<AuthStatusRequest, AuthStatusResponse>(registry, member, Prefix + "AuthStatus", AuthStatusRequest.Parser, _ => member.AuthStatus());
        Unary<AuthenticateRequest, AuthenticateResponse>(registry, member, Prefix + "Authenticate", AuthenticateRequest.Parser, member.AuthenticateAsync);
        Unary<AuthUserAddRequest, AuthUserAddResponse>(registry, member, Prefix + "UserAdd", AuthUserAddRequest.Parser, member.UserAddAsync);
        Unary<AuthUserGetRequest, AuthUserGetResponse>(registry, member, Prefix + "UserGet", AuthUserGetRequest.Parser, member.UserGetAsync);
        Unary<AuthUserListRequest, AuthUserListResponse>(registry, member, Prefix + "UserList", AuthUserListRequest.Parser, member.UserListAsync);
        Unary<AuthUserDeleteRequest, AuthUserDeleteResponse>(registry, member, Prefix + "UserDelete", AuthUserDeleteRequest.Parser, member.UserDeleteAsync);
        Unary<AuthUserChangePasswordRequest, AuthUserChangePasswordResponse>(registry, member, Prefix + "UserChangePassword", AuthUserChangePasswordRequest.Parser, member.UserChangePasswordAsync);
        Unary<AuthUserGrantRoleRequest, AuthUserGrantRoleResponse>(registry, member, Prefix + "UserGrantRole", AuthUserGrantRoleRequest.Parser, member.UserGrantRoleAsync);
        Unary<AuthUserRevokeRoleRequest, AuthUserRevokeRoleResponse>(registry, member, Prefix + "UserRevokeRole", AuthUserRevokeRoleRequest.Parser, member.UserRevokeRoleAsync);
        Unary<AuthRoleAddRequest, AuthRoleAddResponse>(registry, member, Prefix + "RoleAdd", AuthRoleAddRequest.Parser, member.RoleAddAsync);
        Unary<AuthRoleGetRequest, AuthRoleGetResponse>(registry, member, Prefix + "RoleGet", AuthRoleGetRequest.Parser, member.RoleGetAsync);
        Unary<AuthRoleListRequest, AuthRoleListResponse>(registry, member, Prefix + "RoleList", AuthRoleListRequest.Parser, member.RoleListAsync);
        Unary<AuthRoleDeleteRequest, AuthRoleDeleteResponse>(registry, member, Prefix + "RoleDelete", AuthRoleDeleteRequest.Parser, member.RoleDeleteAsync);
        Unary<AuthRoleGrantPermissionRequest, AuthRoleGrantPermissionResponse>(registry, member, Prefix + "RoleGrantPermission", AuthRoleGrantPermissionRequest.Parser, member.RoleGrantPermissionAsync);
        Unary<AuthRoleRevokePermissionRequest, AuthRoleRevokePermissionResponse>(registry, member, Prefix + "RoleRevokePermission", AuthRoleRevokePermissionRequest.Parser, member.RoleRevokePermissionAsync);
    }
}
