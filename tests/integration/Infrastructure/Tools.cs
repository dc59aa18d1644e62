namespace Cairn.IntegrationTests.Infrastructure;

/// <summary>
/// Locates the external programs the integration tests drive: the real <c>etcd</c> (3.4, the oracle) and <c>etcdctl</c>.
/// </summary>
public static class Tools
{
    /// <summary>How to get the tools; quoted in every "missing tool" failure.</summary>
    public const string InstallHint =
        "Run the README's test command, ./scripts/test.sh, which installs them " +
        "(or: apt-get update && apt-get install -y etcd-server etcd-client).";

    /// <summary>Full path of <c>etcd</c>; throws with <see cref="InstallHint"/> when it is not on PATH.</summary>
    public static string Etcd => Require("etcd", "ETCD_BIN");

    /// <summary>Full path of <c>etcdctl</c>; throws with <see cref="InstallHint"/> when it is not on PATH.</summary>
    public static string Etcdctl => Require("etcdctl", "ETCDCTL_BIN");

    /// <summary>Full path of the <c>dotnet</c> host used to run the Cairn member.</summary>
    public static string Dotnet =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host)
            ? host
            : FindOnPath("dotnet") ?? "dotnet";

    /// <summary>Searches PATH for an executable file called <paramref name="name"/>.</summary>
    public static string? FindOnPath(string name)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, name);
            if (File.Exists(candidate))
                return candidate;
        }
        return null;
    }

    private static string Require(string name, string overrideVariable)
    {
        if (Environment.GetEnvironmentVariable(overrideVariable) is { Length: > 0 } overridden)
        {
            return File.Exists(overridden)
                ? overridden
                : throw new InvalidOperationException($"{overrideVariable}={overridden} does not exist.");
        }
        return FindOnPath(name) ?? throw new InvalidOperationException($"'{name}' is not on PATH. {InstallHint}");
    }
}
