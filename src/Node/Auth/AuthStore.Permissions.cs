using Authpb;
using Google.Protobuf;

namespace Cairn.Node.Auth;

internal sealed partial class AuthStore
{
    /// <summary>
    /// The user of a token with the current auth revision (etcd's simple token info), or null if
    /// this member does not know the token. Using a token restarts its lifetime.
    /// </summary>
    public AuthInfo? InfoFromToken(string token)
    {
        var user = Tokens.UserOf(token);
        return user is null ? null : new AuthInfo(user, Revision);
    }

    /// <summary>Read permission on key (a single key when <paramref name="rangeEnd"/> is empty; "\0" = every key from key).</summary>
    public void CheckRange(AuthInfo info, ByteString key, ByteString rangeEnd) => CheckOp(info, key, rangeEnd, write: false);

    /// <summary>Write permission on one key.</summary>
    public void CheckPut(AuthInfo info, ByteString key) => CheckOp(info, key, ByteString.Empty, write: true);

    /// <summary>Write permission on a key or range.</summary>
    public void CheckDeleteRange(AuthInfo info, ByteString key, ByteString rangeEnd) => CheckOp(info, key, rangeEnd, write: true);

    /// <summary>
    /// etcd's IsAdminPermitted: with auth enabled, only a user with the root role may administer
    /// (no revision check, as in etcd).
    /// </summary>
    public void CheckAdmin(AuthInfo info)
    {
        lock (_lock)
        {
            if (!_enabled)
                return;
            if (info.Username.Length == 0)
                throw AuthErrors.UserEmpty();
            if (!_users.TryGetValue(info.Username, out var user))
                throw AuthErrors.UserNotFound();
            if (!HasRootRole(user))
                throw AuthErrors.PermissionDenied();
        }
    }

    // etcd's isOpPermitted: no user → "user name is empty"; a token checked before the store
    // changed → "revision of auth store is old" (the client authenticates again); root may do
    // anything; others need the union of their roles' permissions to cover the whole range.
    private void CheckOp(AuthInfo info, ByteString key, ByteString rangeEnd, bool write)
    {
        lock (_lock)
        {
            if (!_enabled)
                return;
            if (info.Revision == 0)
                throw AuthErrors.UserEmpty();
            if (info.Revision < _revision)
                throw AuthErrors.AuthOldRevision();
            if (!_users.TryGetValue(info.Username, out var user))
                throw AuthErrors.PermissionDenied();
            if (HasRootRole(user))
                return;
            if (!Covers(Intervals(user, write), key.Span, rangeEnd.Span))
                throw AuthErrors.PermissionDenied();
        }
    }

    // The user's permitted intervals [start, end) of one kind; end null = no upper bound. A
    // single-key permission is [key, key+"\0"), the smallest interval holding just that key.
    private List<(byte[] Start, byte[]? End)> Intervals(User user, bool write)
    {
        var result = new List<(byte[], byte[]?)>();
        foreach (var roleName in user.Roles)
        {
            if (!_roles.TryGetValue(roleName, out var role))
                continue;
            foreach (var perm in role.KeyPermission)
            {
                var granted = perm.PermType == Permission.Types.Type.Readwrite
                    || perm.PermType == (write ? Permission.Types.Type.Write : Permission.Types.Type.Read);
                if (!granted)
                    continue;
                var start = perm.Key.ToByteArray();
                byte[]? end = perm.RangeEnd.Length == 0 ? [.. start, 0]
                    : perm.RangeEnd.Length == 1 && perm.RangeEnd[0] == 0 ? null
                    : perm.RangeEnd.ToByteArray();
                result.Add((start, end));
            }
        }

        return result;
    }

    /// <summary>
    /// True when the union of <paramref name="intervals"/> holds every key of the request: the
    /// single key when <paramref name="rangeEnd"/> is empty, else [key, rangeEnd) ("\0": no end).
    /// </summary>
    internal static bool Covers(List<(byte[] Start, byte[]? End)> intervals, ReadOnlySpan<byte> key, ReadOnlySpan<byte> rangeEnd)
    {
        byte[]? wantedEnd = rangeEnd.Length == 0 ? [.. key, 0]
            : rangeEnd.Length == 1 && rangeEnd[0] == 0 ? null
            : rangeEnd.ToArray();
        if (wantedEnd is not null && key.SequenceCompareTo(wantedEnd) >= 0)
            return true; // an empty range holds no key
        intervals.Sort((a, b) => a.Start.AsSpan().SequenceCompareTo(b.Start));
        var covered = key.ToArray(); // everything below this is covered
        foreach (var (start, end) in intervals)
        {
            if (start.AsSpan().SequenceCompareTo(covered) > 0)
                break; // a gap at `covered`
            if (end is null)
                return true;
            if (end.AsSpan().SequenceCompareTo(covered) > 0)
                covered = end;
            if (wantedEnd is not null && covered.AsSpan().SequenceCompareTo(wantedEnd) >= 0)
                return true;
        }

        return false;
    }
}
