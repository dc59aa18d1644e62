namespace Cairn.Client.Tests.Infra;

/// <summary>Locates the repository and the built member binary.</summary>
public static class RepoPaths
{
    public static string Root
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir != null && !File.Exists(Path.Combine(dir.FullName, "cluster.sln")))
            {
                dir = dir.Parent;
            }
            return dir?.FullName ?? throw new InvalidOperationException("cluster.sln not found above " + AppContext.BaseDirectory);
        }
    }

    /// <summary>The configuration the tests were built with (Debug/Release), read from our own output path.</summary>
    public static string Configuration =>
        AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";

    /// <summary>src/Node/bin/&lt;Configuration&gt;/net10.0/cairn.dll (built because the test project references src/Node).</summary>
    public static string CairnDll
    {
        get
        {
            var path = Path.Combine(Root, "src", "Node", "bin", Configuration, "net10.0", "cairn.dll");
            return File.Exists(path) ? path : throw new FileNotFoundException("The Cairn member binary is not built", path);
        }
    }

    public static string TempDir(string prefix)
    {
        var dir = Path.Combine(Path.GetTempPath(), $"{prefix}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        return dir;
    }
}
