namespace Cairn.Node.Auth;

/// <summary>
/// Who makes a request, as etcd's AuthInfo: the user of a token and the auth store revision the
/// token was checked at. Revision 0 means no user (etcd's "user name is empty").
/// </summary>
/// <param name="Username">The user, or empty for none.</param>
/// <param name="Revision">The auth store revision at the check.</param>
internal readonly record struct AuthInfo(string Username, ulong Revision)
{
    /// <summary>A request that named no user.</summary>
    public static AuthInfo None => new(string.Empty, 0);
}
