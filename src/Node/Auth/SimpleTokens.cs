using System.Diagnostics;
using System.Security.Cryptography;

namespace Cairn.Node.Auth;

/// <summary>
/// etcd's simple tokens: "random letters.raft index", assigned to a user when the Authenticate
/// entry is applied, so every member that applied it accepts the token. Each token lives
/// <see cref="Ttl"/> after its last use (etcd: 5 minutes, refreshed on use). Tokens are memory
/// only, as etcd's are: after a restart clients authenticate again. Thread-safe.
/// </summary>
internal sealed class SimpleTokens
{
    /// <summary>etcd's simpleTokenTTL.</summary>
    public static readonly TimeSpan Ttl = TimeSpan.FromMinutes(5);

    /// <summary>Most tokens kept; beyond it the ones closest to expiry are dropped (the clients re-authenticate).</summary>
    public const int MaxTokens = 100_000;

    private const int PrefixLength = 16;
    private const string Letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

    private readonly Lock _lock = new();
    private readonly Dictionary<string, (string User, long ExpiresAt)> _tokens = new(StringComparer.Ordinal);
    private readonly Func<long> _clock;

    /// <summary>Creates the table; <paramref name="clock"/> gives Stopwatch ticks (tests pass their own).</summary>
    public SimpleTokens(Func<long>? clock = null) => _clock = clock ?? Stopwatch.GetTimestamp;

    /// <summary>The random part of a new token (etcd's GenTokenPrefix: 16 letters), chosen by the proposer.</summary>
    public static string NewPrefix() => RandomNumberGenerator.GetString(Letters, PrefixLength);

    /// <summary>The token for an Authenticate applied at <paramref name="index"/>.</summary>
    public static string Format(string prefix, ulong index) => $"{prefix}.{index}";

    /// <summary>The raft index a token was assigned at, or 0 if it has none (not a simple token).</summary>
    public static ulong IndexOf(string token)
    {
        var dot = token.LastIndexOf('.');
        return dot >= 0 && ulong.TryParse(token.AsSpan(dot + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var index) ? index : 0;
    }

    /// <summary>Assigns <paramref name="token"/> to <paramref name="user"/>.</summary>
    public void Assign(string token, string user)
    {
        lock (_lock)
        {
            var now = _clock();
            if (_tokens.Count >= MaxTokens)
                Trim(now);
            _tokens[token] = (user, now + TtlTicks);
        }
    }

    /// <summary>The user of a live token (its lifetime restarts), or null.</summary>
    public string? UserOf(string token)
    {
        lock (_lock)
        {
            var now = _clock();
            if (!_tokens.TryGetValue(token, out var entry))
                return null;
            if (entry.ExpiresAt <= now)
            {
                _tokens.Remove(token);
                return null;
            }

            _tokens[token] = (entry.User, now + TtlTicks);
            return entry.User;
        }
    }

    /// <summary>Drops every token of <paramref name="user"/> (deleted, or its password changed).</summary>
    public void InvalidateUser(string user) => RetainUsers(u => u != user);

    /// <summary>Keeps only the tokens whose user passes <paramref name="exists"/>.</summary>
    public void RetainUsers(Func<string, bool> exists)
    {
        lock (_lock)
        {
            foreach (var token in _tokens.Where(t => !exists(t.Value.User)).Select(t => t.Key).ToList())
                _tokens.Remove(token);
        }
    }

    /// <summary>Drops every token (auth disabled).</summary>
    public void Clear()
    {
        lock (_lock)
            _tokens.Clear();
    }

    /// <summary>How many tokens are held.</summary>
    public int Count
    {
        get
        {
            lock (_lock)
                return _tokens.Count;
        }
    }

    private static long TtlTicks => (long)(Ttl.TotalSeconds * Stopwatch.Frequency);

    // Expired tokens first; if the table is still full, the tenth closest to expiry goes too, so
    // trimming runs once per many assignments rather than on each.
    private void Trim(long now)
    {
        foreach (var token in _tokens.Where(t => t.Value.ExpiresAt <= now).Select(t => t.Key).ToList())
            _tokens.Remove(token);
        if (_tokens.Count < MaxTokens)
            return;
        foreach (var token in _tokens.OrderBy(t => t.Value.ExpiresAt).Take(MaxTokens / 10).Select(t => t.Key).ToList())
            _tokens.Remove(token);
    }
}
