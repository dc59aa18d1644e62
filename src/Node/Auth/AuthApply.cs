using Cairn.Mvcc;
using Cairnpb;
using Etcdserverpb;
using Google.Protobuf;

namespace Cairn.Node.Auth;

/// <summary>
/// The auth side of applying a log entry (etcd's authApplierV3): the permission checks a
/// replicated request needs, made with the user and auth revision the proposer stamped on it,
/// and the auth commands themselves. Runs on the apply loop only.
/// </summary>
internal static class AuthApply
{
    /// <summary>Throws etcd's error if the entry's author may not do what it asks.</summary>
    public static void Check(AuthStore auth, KvStore store, InternalRequest request)
    {
        var info = new AuthInfo(request.AuthUser, request.AuthRevision);
        switch (request.RequestCase)
        {
            case InternalRequest.RequestOneofCase.Put:
                CheckPut(auth, store, info, request.Put);
                break;
            case InternalRequest.RequestOneofCase.DeleteRange:
                CheckDeleteRange(auth, info, request.DeleteRange);
                break;
            case InternalRequest.RequestOneofCase.Txn:
                CheckTxn(auth, info, request.Txn);
                break;
            case InternalRequest.RequestOneofCase.LeaseRevoke:
                // Revoking deletes the lease's keys: the user must be able to write each of them.
                CheckLeaseKeys(auth, store, info, request.LeaseRevoke.ID);
                break;
            case InternalRequest.RequestOneofCase.UserGet:
                if (request.UserGet.Name != info.Username)
                    auth.CheckAdmin(info); // a user may read itself
                break;
            case InternalRequest.RequestOneofCase.RoleGet:
                if (!auth.HasRole(info.Username, request.RoleGet.Role))
                    auth.CheckAdmin(info); // a user may read its own roles
                break;
            case InternalRequest.RequestOneofCase.AuthEnable:
            case InternalRequest.RequestOneofCase.AuthDisable:
            case InternalRequest.RequestOneofCase.UserAdd:
            case InternalRequest.RequestOneofCase.UserDelete:
            case InternalRequest.RequestOneofCase.UserChangePassword:
            case InternalRequest.RequestOneofCase.UserGrantRole:
            case InternalRequest.RequestOneofCase.UserRevokeRole:
            case InternalRequest.RequestOneofCase.UserList:
            case InternalRequest.RequestOneofCase.RoleAdd:
            case InternalRequest.RequestOneofCase.RoleList:
            case InternalRequest.RequestOneofCase.RoleDelete:
            case InternalRequest.RequestOneofCase.RoleGrantPermission:
            case InternalRequest.RequestOneofCase.RoleRevokePermission:
                auth.CheckAdmin(info);
                break;
        }
    }

    /// <summary>etcd's checkTxnAuth: read on every compare, and on every op what the op needs.</summary>
    public static void CheckTxn(AuthStore auth, AuthInfo info, TxnRequest txn)
    {
        foreach (var compare in txn.Compare)
            auth.CheckRange(info, compare.Key, compare.RangeEnd);
        CheckOps(auth, info, txn.Success);
        CheckOps(auth, info, txn.Failure);
    }

    /// <summary>
    /// Applies an auth command and returns its response (header revision = the store's), or null
    /// when <paramref name="request"/> is not one. <paramref name="index"/> is the entry's log
    /// index, which an Authenticate puts in its token.
    /// </summary>
    public static IMessage? Execute(AuthStore auth, KvStore store, InternalRequest request, ulong index)
    {
        IMessage? response = request.RequestCase switch
        {
            InternalRequest.RequestOneofCase.AuthEnable => auth.ApplyEnable(),
            InternalRequest.RequestOneofCase.AuthDisable => auth.ApplyDisable(),
            InternalRequest.RequestOneofCase.Authenticate =>
                auth.ApplyAuthenticate(request.Authenticate.Name, SimpleTokens.Format(request.Authenticate.SimpleToken, index)),
            InternalRequest.RequestOneofCase.UserAdd => auth.ApplyUserAdd(request.UserAdd),
            InternalRequest.RequestOneofCase.UserDelete => auth.ApplyUserDelete(request.UserDelete),
            InternalRequest.RequestOneofCase.UserChangePassword => auth.ApplyUserChangePassword(request.UserChangePassword),
            InternalRequest.RequestOneofCase.UserGrantRole => auth.ApplyUserGrantRole(request.UserGrantRole),
            InternalRequest.RequestOneofCase.UserRevokeRole => auth.ApplyUserRevokeRole(request.UserRevokeRole),
            InternalRequest.RequestOneofCase.UserGet => auth.UserGet(request.UserGet),
            InternalRequest.RequestOneofCase.UserList => auth.UserList(),
            InternalRequest.RequestOneofCase.RoleAdd => auth.ApplyRoleAdd(request.RoleAdd),
            InternalRequest.RequestOneofCase.RoleGet => auth.RoleGet(request.RoleGet),
            InternalRequest.RequestOneofCase.RoleList => auth.RoleList(),
            InternalRequest.RequestOneofCase.RoleDelete => auth.ApplyRoleDelete(request.RoleDelete),
            InternalRequest.RequestOneofCase.RoleGrantPermission => auth.ApplyRoleGrantPermission(request.RoleGrantPermission),
            InternalRequest.RequestOneofCase.RoleRevokePermission => auth.ApplyRoleRevokePermission(request.RoleRevokePermission),
            _ => null,
        };
        if (response is not null)
            ResponseHeaders.Of(response).Revision = store.Revision;
        return response;
    }

    private static void CheckPut(AuthStore auth, KvStore store, AuthInfo info, PutRequest put)
    {
        auth.CheckPut(info, put.Key);
        // A key may join a lease only if the user could revoke it, i.e. write all its keys.
        CheckLeaseKeys(auth, store, info, put.Lease);
        if (put.PrevKv)
            auth.CheckRange(info, put.Key, ByteString.Empty);
    }

    private static void CheckDeleteRange(AuthStore auth, AuthInfo info, DeleteRangeRequest delete)
    {
        auth.CheckDeleteRange(info, delete.Key, delete.RangeEnd);
        if (delete.PrevKv)
            auth.CheckRange(info, delete.Key, delete.RangeEnd);
    }

    private static void CheckLeaseKeys(AuthStore auth, KvStore store, AuthInfo info, long lease)
    {
        if (lease == 0 || !auth.Enabled)
            return;
        foreach (var key in store.KeysWithLease(lease))
            auth.CheckPut(info, key);
    }

    private static void CheckOps(AuthStore auth, AuthInfo info, IEnumerable<RequestOp> ops)
    {
        foreach (var op in ops)
        {
            switch (op.RequestCase)
            {
                case RequestOp.RequestOneofCase.RequestRange:
                    auth.CheckRange(info, op.RequestRange.Key, op.RequestRange.RangeEnd);
                    break;
                case RequestOp.RequestOneofCase.RequestPut:
                    auth.CheckPut(info, op.RequestPut.Key);
                    break;
                case RequestOp.RequestOneofCase.RequestDeleteRange:
                    if (op.RequestDeleteRange.PrevKv)
                        auth.CheckRange(info, op.RequestDeleteRange.Key, op.RequestDeleteRange.RangeEnd);
                    auth.CheckDeleteRange(info, op.RequestDeleteRange.Key, op.RequestDeleteRange.RangeEnd);
                    break;
                case RequestOp.RequestOneofCase.RequestTxn:
                    // etcd 3.4 skips nested txns here (a hole); Cairn checks them like the outer one.
                    CheckTxn(auth, info, op.RequestTxn);
                    break;
            }
        }
    }
}
