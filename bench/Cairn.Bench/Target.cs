using System.Globalization;
using Cairn.Grpc.Client;

namespace Cairn.Bench;

/// <summary>A cluster under test: its client endpoints, member pids (for RSS) and connections.</summary>
internal sealed class Target : IDisposable
{
    public Target(string name, IReadOnlyList<string> endpoints, IReadOnlyList<int> pids, int connectionsPerEndpoint)
    {
        Name = name;
        Endpoints = endpoints;
        Pids = pids;
        // Round-robin, as Channels promises: grouped by endpoint, Channels[i] for i < endpoints was
        // not endpoint i, and the sequential put, meant for the leader, often went to a follower.
        Channels = Enumerable.Range(0, connectionsPerEndpoint)
            .SelectMany(_ => endpoints.Select(e => new GrpcChannel(new Uri("http://" + e))))
            .ToArray();
    }

    public string Name { get; }
    public IReadOnlyList<string> Endpoints { get; }
    public IReadOnlyList<int> Pids { get; }

    /// <summary>Connections, round-robin over endpoints (index i is on endpoint i % endpoints).</summary>
    public GrpcChannel[] Channels { get; }

    /// <summary>Resident set size of each member, in bytes (from /proc).</summary>
    public long[] Rss() => Pids.Select(pid =>
    {
        try
        {
            var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
            return line is null ? 0 : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
        }
        catch (IOException)
        {
            return 0;
        }
    }).ToArray();

    /// <summary>
    /// CPU time (user + system) the members have used so far, summed, in microseconds (fields 14 and
    /// 15 of /proc/PID/stat, in clock ticks of 10 ms). Taken before and after a workload and divided by
    /// its operations, this is a cost per operation that depends far less on the machine's other load
    /// than ops/s does.
    /// </summary>
    public long CpuMicroseconds() => Pids.Sum(pid =>
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            // The command name (field 2) may hold spaces; the fields after its closing parenthesis do not.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) * 10_000;
        }
        catch (IOException)
        {
            return 0;
        }
    });

    public void Dispose()
    {
        foreach (var c in Channels)
            c.Dispose();
    }
}
