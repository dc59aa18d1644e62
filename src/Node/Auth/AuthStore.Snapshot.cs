using Authpb;
using Cairnpb;

namespace Cairn.Node.Auth;

internal sealed partial class AuthStore
{
    /// <summary>The replicated state (not the tokens, which etcd does not keep either) for a state snapshot.</summary>
    public AuthSnapshot Snapshot()
    {
        lock (_lock)
        {
            return new AuthSnapshot
            {
                Enabled = _enabled,
                Revision = _revision,
                Users = { _users.Values.Select(u => u.Clone()) },
                Roles = { _roles.Values.Select(r => r.Clone()) },
            };
        }
    }

    /// <summary>
    /// Replaces the state with a snapshot's. Tokens stay valid unless the snapshot has auth
    /// disabled or lacks their user: a lagging member that installs a snapshot keeps accepting
    /// the tokens it had assigned (those assigned by entries the snapshot replaced are unknown
    /// to it; their clients authenticate again).
    /// </summary>
    public void Restore(AuthSnapshot snapshot)
    {
        lock (_lock)
        {
            _users.Clear();
            _roles.Clear();
            foreach (var user in snapshot.Users)
                _users[NameOf(user.Name)] = user.Clone();
            foreach (var role in snapshot.Roles)
                _roles[NameOf(role.Name)] = role.Clone();
            _enabled = snapshot.Enabled;
            _revision = Math.Max(1, snapshot.Revision);
            if (!_enabled)
                Tokens.Clear();
            else
                Tokens.RetainUsers(_users.ContainsKey);
        }
    }

    /// <summary>A user by name (a copy), or null; for tests and diagnostics.</summary>
    internal User? FindUser(string name)
    {
        lock (_lock)
            return _users.TryGetValue(name, out var user) ? user.Clone() : null;
    }
}
