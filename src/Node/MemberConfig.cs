using System.Globalization;

namespace Cairn.Node;

/// <summary>
/// A member's configuration, read from etcd's own flag names (so an etcd start script runs
/// Cairn unchanged) or from the matching <c>ETCD_*</c> environment variables. Flags win over
/// the environment; with neither, a single member serves 127.0.0.1:2379 with peers on 2380.
/// </summary>
public sealed class MemberConfig
{
    /// <summary>Human-readable member name (<c>--name</c>, default "default").</summary>
    public string Name { get; private set; } = "default";

    /// <summary>Where the member keeps its state (<c>--data-dir</c>, default "&lt;name&gt;.etcd").</summary>
    public string DataDir { get; private set; } = "";

    /// <summary>URLs the client API listens on (<c>--listen-client-urls</c>).</summary>
    public IReadOnlyList<Uri> ListenClientUrls { get; private set; } = [new("http://127.0.0.1:2379")];

    /// <summary>URLs advertised to clients (<c>--advertise-client-urls</c>).</summary>
    public IReadOnlyList<Uri> AdvertiseClientUrls { get; private set; } = [new("http://127.0.0.1:2379")];

    /// <summary>URLs the peer transport listens on (<c>--listen-peer-urls</c>).</summary>
    public IReadOnlyList<Uri> ListenPeerUrls { get; private set; } = [new("http://127.0.0.1:2380")];

    /// <summary>This member's peer URLs as told to the cluster (<c>--initial-advertise-peer-urls</c>).</summary>
    public IReadOnlyList<Uri> InitialAdvertisePeerUrls { get; private set; } = [new("http://127.0.0.1:2380")];

    /// <summary>The initial members, name → peer URLs (<c>--initial-cluster</c>).</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<Uri>> InitialCluster { get; private set; } =
        new Dictionary<string, IReadOnlyList<Uri>>();

    /// <summary>"new" to bootstrap, "existing" to join (<c>--initial-cluster-state</c>); ignored when the data dir has state.</summary>
    public string InitialClusterState { get; private set; } = "new";

    /// <summary>Token mixed into cluster and member ids (<c>--initial-cluster-token</c>).</summary>
    public string InitialClusterToken { get; private set; } = "etcd-cluster";

    /// <summary>Heartbeat interval in milliseconds (<c>--heartbeat-interval</c>, default 100).</summary>
    public int HeartbeatIntervalMs { get; private set; } = 100;

    /// <summary>Election timeout in milliseconds (<c>--election-timeout</c>, default 1000).</summary>
    public int ElectionTimeoutMs { get; private set; } = 1000;

    /// <summary>Applied entries between snapshots (<c>--snapshot-count</c>, default 10 000).</summary>
    public long SnapshotCount { get; private set; } = 10_000;

    /// <summary>Backend quota in bytes (<c>--quota-backend-bytes</c>, default 2 GiB).</summary>
    public long QuotaBackendBytes { get; private set; } = 2L * 1024 * 1024 * 1024;

    /// <summary>Largest request accepted (<c>--max-request-bytes</c>, default 1.5 MiB).</summary>
    public int MaxRequestBytes { get; private set; } = 1536 * 1024;

    /// <summary>Most ops in a txn branch (<c>--max-txn-ops</c>, default 128).</summary>
    public int MaxTxnOps { get; private set; } = 128;

    /// <summary>Idle interval of progress notifications (<c>--experimental-watch-progress-notify-interval</c>, default 10 min).</summary>
    public TimeSpan WatchProgressNotifyInterval { get; private set; } = TimeSpan.FromMinutes(10);

    /// <summary>TLS certificate for https client URLs (<c>--cert-file</c>).</summary>
    public string? CertFile { get; private set; }

    /// <summary>TLS key for https client URLs (<c>--key-file</c>).</summary>
    public string? KeyFile { get; private set; }

    /// <summary>Log level (<c>--log-level</c>: debug, info, warn, error; default info).</summary>
    public string LogLevel { get; private set; } = "info";

    // Every flag with the setter that parses it. The environment variable of a flag is
    // ETCD_ + its name upper-cased with '-' → '_' (etcd's rule), e.g. ETCD_DATA_DIR.
    private static readonly Dictionary<string, Action<MemberConfig, string>> Setters = new(StringComparer.Ordinal)
    {
        ["name"] = (c, v) => c.Name = NonEmpty("name", v),
        ["data-dir"] = (c, v) => c.DataDir = NonEmpty("data-dir", v),
        ["listen-client-urls"] = (c, v) => c.ListenClientUrls = Urls("listen-client-urls", v),
        ["advertise-client-urls"] = (c, v) => c.AdvertiseClientUrls = Urls("advertise-client-urls", v),
        ["listen-peer-urls"] = (c, v) => c.ListenPeerUrls = Urls("listen-peer-urls", v),
        ["initial-advertise-peer-urls"] = (c, v) => c.InitialAdvertisePeerUrls = Urls("initial-advertise-peer-urls", v),
        ["initial-cluster"] = (c, v) => c.InitialCluster = Cluster(v),
        ["initial-cluster-state"] = (c, v) => c.InitialClusterState = v is "new" or "existing"
            ? v : throw new ConfigException($"--initial-cluster-state must be \"new\" or \"existing\", got \"{v}\""),
        ["initial-cluster-token"] = (c, v) => c.InitialClusterToken = v,
        ["heartbeat-interval"] = (c, v) => c.HeartbeatIntervalMs = (int)Positive("heartbeat-interval", v),
        ["election-timeout"] = (c, v) => c.ElectionTimeoutMs = (int)Positive("election-timeout", v),
        ["snapshot-count"] = (c, v) => c.SnapshotCount = Positive("snapshot-count", v),
        ["quota-backend-bytes"] = (c, v) => c.QuotaBackendBytes = NonNegative("quota-backend-bytes", v),
        ["max-request-bytes"] = (c, v) => c.MaxRequestBytes = (int)Positive("max-request-bytes", v),
        ["max-txn-ops"] = (c, v) => c.MaxTxnOps = (int)Positive("max-txn-ops", v),
        ["experimental-watch-progress-notify-interval"] = (c, v) => c.WatchProgressNotifyInterval = Duration("experimental-watch-progress-notify-interval", v),
        ["cert-file"] = (c, v) => c.CertFile = v,
        ["key-file"] = (c, v) => c.KeyFile = v,
        ["log-level"] = (c, v) => c.LogLevel = v is "debug" or "info" or "warn" or "error"
            ? v : throw new ConfigException($"--log-level must be debug, info, warn or error, got \"{v}\""),
        // Accepted for etcd script compatibility; Cairn has no use for them.
        ["logger"] = (_, _) => { },
        ["log-outputs"] = (_, _) => { },
        ["enable-v2"] = (_, _) => { },
        ["auto-compaction-retention"] = (_, _) => { },
        ["auto-compaction-mode"] = (_, _) => { },
    };

    /// <summary>Reads the environment, then the flags; throws <see cref="ConfigException"/> on any error.</summary>
    public static MemberConfig Parse(IReadOnlyList<string> args, IReadOnlyDictionary<string, string?>? environment = null)
    {
        var config = new MemberConfig();
        var set = new HashSet<string>(StringComparer.Ordinal);
        environment ??= Environment.GetEnvironmentVariables().Cast<System.Collections.DictionaryEntry>()
            .ToDictionary(e => (string)e.Key, e => (string?)e.Value, StringComparer.Ordinal);
        foreach (var (flag, setter) in Setters)
        {
            var variable = "ETCD_" + flag.ToUpperInvariant().Replace('-', '_');
            if (environment.TryGetValue(variable, out var value) && !string.IsNullOrEmpty(value))
            {
                Apply(config, setter, value, $"environment variable {variable}");
                set.Add(flag);
            }
        }

        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (!arg.StartsWith('-'))
                throw new ConfigException($"unexpected argument \"{arg}\" (flags look like --name=value)");
            var body = arg.TrimStart('-');
            string flag, value;
            var eq = body.IndexOf('=');
            if (eq >= 0)
            {
                flag = body[..eq];
                value = body[(eq + 1)..];
            }
            else
            {
                flag = body;
                if (!Setters.ContainsKey(flag))
                    throw new ConfigException($"unknown flag --{flag}");
                if (i + 1 >= args.Count)
                    throw new ConfigException($"flag --{flag} needs a value");
                value = args[++i];
            }

            if (!Setters.TryGetValue(flag, out var s))
                throw new ConfigException($"unknown flag --{flag}");
            Apply(config, s, value, $"flag --{flag}");
            set.Add(flag);
        }

        config.Complete(set);
        return config;
    }

    private static void Apply(MemberConfig config, Action<MemberConfig, string> setter, string value, string source)
    {
        try
        {
            setter(config, value);
        }
        catch (ConfigException e) when (!e.Message.Contains(source, StringComparison.Ordinal))
        {
            throw new ConfigException($"{source}: {e.Message}");
        }
    }

    // Defaults that depend on other settings, and cross-flag checks, as etcd does them.
    private void Complete(HashSet<string> set)
    {
        if (!set.Contains("data-dir"))
            DataDir = Name + ".etcd";
        if (!set.Contains("initial-cluster"))
            InitialCluster = new Dictionary<string, IReadOnlyList<Uri>> { [Name] = InitialAdvertisePeerUrls };
        if (!InitialCluster.ContainsKey(Name))
            throw new ConfigException($"--initial-cluster has no entry for this member's --name \"{Name}\"");
        if (ElectionTimeoutMs < 5 * HeartbeatIntervalMs)
            throw new ConfigException($"--election-timeout[{ElectionTimeoutMs}ms] should be at least 5 times as large as --heartbeat-interval[{HeartbeatIntervalMs}ms]");
        if (ListenClientUrls.Any(u => u.Scheme == "https") && (CertFile is null || KeyFile is null))
            throw new ConfigException("https client URLs need --cert-file and --key-file");
    }

    private static string NonEmpty(string flag, string v) =>
        v.Length > 0 ? v : throw new ConfigException($"--{flag} must not be empty");

    private static long Positive(string flag, string v) =>
        long.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0
            ? n : throw new ConfigException($"--{flag} must be a positive integer, got \"{v}\"");

    private static long NonNegative(string flag, string v) =>
        long.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out var n)
            ? n : throw new ConfigException($"--{flag} must be a non-negative integer, got \"{v}\"");

    // Go duration syntax as etcd accepts it: 10m, 5s, 250ms, 1h.
    private static TimeSpan Duration(string flag, string v)
    {
        var units = new (string Suffix, double Ms)[] { ("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000) };
        foreach (var (suffix, ms) in units)
        {
            if (v.EndsWith(suffix, StringComparison.Ordinal) &&
                double.TryParse(v[..^suffix.Length], NumberStyles.Float, CultureInfo.InvariantCulture, out var n) && n > 0)
                return TimeSpan.FromMilliseconds(n * ms);
        }

        throw new ConfigException($"--{flag} must be a duration like 10m, 5s or 250ms, got \"{v}\"");
    }

    private static IReadOnlyList<Uri> Urls(string flag, string v)
    {
        var list = new List<Uri>();
        foreach (var part in v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            list.Add(Url(flag, part));
        return list.Count > 0 ? list : throw new ConfigException($"--{flag} needs at least one URL");
    }

    private static Uri Url(string flag, string s)
    {
        if (!Uri.TryCreate(s, UriKind.Absolute, out var uri) || (uri.Scheme != "http" && uri.Scheme != "https") || uri.Port <= 0)
            throw new ConfigException($"--{flag}: \"{s}\" is not a URL like http://127.0.0.1:2379");
        if (uri.AbsolutePath is not ("/" or ""))
            throw new ConfigException($"--{flag}: \"{s}\" must not have a path");
        return uri;
    }

    private static Dictionary<string, IReadOnlyList<Uri>> Cluster(string v)
    {
        var members = new Dictionary<string, List<Uri>>(StringComparer.Ordinal);
        foreach (var part in v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var eq = part.IndexOf('=');
            if (eq <= 0)
                throw new ConfigException($"--initial-cluster: \"{part}\" is not name=url");
            var name = part[..eq];
            if (!members.TryGetValue(name, out var urls))
                members[name] = urls = [];
            urls.Add(Url("initial-cluster", part[(eq + 1)..]));
        }

        return members.Count > 0
            ? members.ToDictionary(kv => kv.Key, kv => (IReadOnlyList<Uri>)kv.Value, StringComparer.Ordinal)
            : throw new ConfigException("--initial-cluster needs at least one name=url");
    }
}
