using System.Collections.Concurrent;
using System.Reflection;

namespace Cairn.IntegrationTests.Differential;

/// <summary>Names the case file (in <c>Differential/cases/</c>) whose cases a test class runs.</summary>
[AttributeUsage(AttributeTargets.Class)]
public sealed class CaseFileAttribute(string fileName) : Attribute
{
    /// <summary>The file name, e.g. <c>get.txt</c>.</summary>
    public string FileName { get; } = fileName;
}

/// <summary>The case files copied next to the test binary, parsed once.</summary>
public static class CaseCatalog
{
    private static readonly ConcurrentDictionary<string, IReadOnlyList<DifferentialCase>> Files = new();

    /// <summary>The directory holding the case files at run time.</summary>
    public static string Directory => Path.Combine(AppContext.BaseDirectory, "Differential", "cases");

    /// <summary>Every case file name (e.g. <c>get.txt</c>).</summary>
    public static IReadOnlyList<string> FileNames() =>
        System.IO.Directory.EnumerateFiles(Directory, "*.txt").Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal).ToArray();

    /// <summary>The cases of <paramref name="fileName"/>.</summary>
    public static IReadOnlyList<DifferentialCase> Load(string fileName) =>
        Files.GetOrAdd(fileName, f => CaseFile.Parse(f, File.ReadAllText(Path.Combine(Directory, f))));

    /// <summary>The case called <paramref name="name"/> in <paramref name="fileName"/>.</summary>
    public static DifferentialCase Get(string fileName, string name) =>
        Load(fileName).SingleOrDefault(c => c.Name == name)
        ?? throw new KeyNotFoundException($"No case '{name}' in {fileName}.");

    /// <summary>Theory data: the case names of the file named by <typeparamref name="T"/>'s <see cref="CaseFileAttribute"/>.</summary>
    public static TheoryData<string> NamesFor<T>()
    {
        var data = new TheoryData<string>();
        foreach (var c in Load(FileOf(typeof(T))))
            data.Add(c.Name);
        return data;
    }

    /// <summary>The case file of a test class.</summary>
    public static string FileOf(Type type) =>
        type.GetCustomAttribute<CaseFileAttribute>()?.FileName
        ?? throw new InvalidOperationException($"{type.Name} has no [CaseFile].");
}
