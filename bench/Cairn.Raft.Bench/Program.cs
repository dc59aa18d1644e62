// Dispatches to one benchmark by name; each prints its figures as a markdown table.
using Cairn.Raft.Bench;

return args.FirstOrDefault() switch
{
    "wal" => WalBenchmark.Run(args[1..]),
    "core" => CoreBenchmark.Run(args[1..]),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: Cairn.Raft.Bench wal|core [options]");
    return 2;
}
