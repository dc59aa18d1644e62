using System.Reflection;

namespace Cairn.IntegrationTests.Infrastructure;

/// <summary>
/// Where things are in the repository and in its build output, as seen from a running test.
/// </summary>
public static class RepoLayout
{
    private static readonly Lazy<string> LazyRoot = new(FindRoot);

    /// <summary>The repository root: the nearest ancestor of the test binary that holds <c>cluster.sln</c>.</summary>
    public static string Root => LazyRoot.Value;

    /// <summary>The configuration (Debug/Release) this test assembly was built with.</summary>
    public static string Configuration =>
        typeof(RepoLayout).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration is { Length: > 0 } c
            ? c
            : "Debug";

    /// <summary>
    /// The Cairn member binary (<c>src/Node/bin/&lt;Configuration&gt;/net10.0/cairn.dll</c>), preferring the configuration
    /// this test was built with, then any other configuration. The environment variable <c>CAIRN_DLL</c> overrides it.
    /// Returns null when no such file exists.
    /// </summary>
    public static string? FindCairnDll()
    {
        var overridden = Environment.GetEnvironmentVariable("CAIRN_DLL");
        if (!string.IsNullOrEmpty(overridden))
            return File.Exists(overridden) ? Path.GetFullPath(overridden) : null;

        var binDir = Path.Combine(Root, "src", "Node", "bin");
        var preferred = Path.Combine(binDir, Configuration, "net10.0", "cairn.dll");
        if (File.Exists(preferred))
            return preferred;
        if (!Directory.Exists(binDir))
            return null;
        return Directory.EnumerateDirectories(binDir)
            .Select(d => Path.Combine(d, "net10.0", "cairn.dll"))
            .Where(File.Exists)
            .OrderByDescending(File.GetLastWriteTimeUtc)
            .FirstOrDefault();
    }

    /// <summary>The path <c>src/Node/bin/&lt;Configuration&gt;/net10.0/cairn.dll</c> would have, for error messages.</summary>
    public static string ExpectedCairnDll
    {
        get
        {
            try
            {
                return Path.Combine(Root, "src", "Node", "bin", Configuration, "net10.0", "cairn.dll");
            }
            catch (InvalidOperationException e)
            {
                return $"src/Node/bin/{Configuration}/net10.0/cairn.dll ({e.Message})";
            }
        }
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "cluster.sln")))
                return dir.FullName;
        }
        throw new InvalidOperationException($"No cluster.sln above {AppContext.BaseDirectory}: cannot locate the repository root.");
    }
}
