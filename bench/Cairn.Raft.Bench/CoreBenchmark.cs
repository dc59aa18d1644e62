namespace Cairn.Raft.Bench;

/// <summary>Steps per second of the pure core and allocations per proposal (placeholder until written).</summary>
internal static class CoreBenchmark
{
    public static int Run(string[] args) { _ = args; Console.WriteLine("core benchmark: not written yet"); return 0; }
}
