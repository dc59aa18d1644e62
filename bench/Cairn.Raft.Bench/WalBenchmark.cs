namespace Cairn.Raft.Bench;

/// <summary>WAL append throughput with fsync, against the raw fdatasync rate (placeholder until written).</summary>
internal static class WalBenchmark
{
    public static int Run(string[] args) { _ = args; Console.WriteLine("wal benchmark: not written yet"); return 0; }
}
