using System.Globalization;

namespace Cairn.Bench;

/// <summary>
/// Merges the latency traces of a sequential put run into one time line and prints the median of
/// each stage of a write. Input: a directory with the members' <c>member-ID-PID.trace</c> files
/// (written when they stop, with <c>CAIRN_LATENCY_TRACE=DIR</c>) and the bench's <c>--spans</c> file
/// (<c>*.spans</c>). All timestamps are the machine's monotonic clock, so they compare across processes.
/// </summary>
/// <remarks>
/// Meant for one put in flight: a put is followed by its log index (and proposal id on the leader);
/// stages without a key (socket writes) and the client's span are matched as the first event after
/// the previous stage. The follower followed is the one whose acknowledgement reached the leader first.
/// </remarks>
internal static class TraceReport
{
    // Stage names as the members write them (Cairn.Raft.Diagnostics.TraceStage).
    private const string RequestStart = "RequestStart", ProposeEnqueued = "ProposeEnqueued", LoopPickup = "LoopPickup",
        AppendQueued = "AppendQueued", FrameWritten = "FrameWritten", Synced = "Synced", AppendReceived = "AppendReceived",
        AppendStepped = "AppendStepped", AckQueued = "AckQueued", AckReceived = "AckReceived", AckStepped = "AckStepped",
        Committed = "Committed", Applied = "Applied", WaiterCompleted = "WaiterCompleted", AcceptedResumed = "AcceptedResumed",
        WaiterResumed = "WaiterResumed";

    private static readonly string[] Steps =
    [
        "client send -> member handler (HTTP/2, Kestrel, gRPC decode)",
        "handler -> proposal in inbox",
        "inbox -> leader loop picks it up",
        "leader loop: propose -> append handed to transport",
        "leader sender: queue -> socket written",
        "socket -> follower decoded it",
        "follower inbox -> follower loop",
        "follower loop: WAL append + fsync",
        "follower: fsync done -> ack handed to transport",
        "follower sender: queue -> socket written",
        "socket -> leader decoded ack",
        "leader inbox -> leader loop steps ack",
        "ack stepped -> commit (apply starts)",
        "apply",
        "applied -> proposer resumed (waiter continuation)",
        "proposer resumed -> client has response",
    ];

    public static int Print(string directory)
    {
        var members = Directory.GetFiles(directory, "*.trace").Select(Load).ToList();
        var spans = Directory.GetFiles(directory, "*.spans").SelectMany(File.ReadLines)
            .Select(l => l.Split(' ')).Select(p => (Start: long.Parse(p[1], CultureInfo.InvariantCulture), End: long.Parse(p[2], CultureInfo.InvariantCulture)))
            .OrderBy(s => s.Start).ToArray();
        if (members.Count == 0)
        {
            Console.Error.WriteLine($"no *.trace files in {directory}");
            return 1;
        }

        var leader = members.MaxBy(m => m.Count(AppendQueued))!;
        var frequency = leader.Frequency;
        var steps = Steps.Select(_ => new List<double>()).ToArray();
        var leaderSync = new List<double>();
        var leaderSyncToAckStep = new List<double>();
        var acceptedHop = new List<double>();
        var totals = new List<double>();
        var withoutDisk = new List<double>();
        var chains = new List<Chain>();
        var used = 0;
        var skipped = 0;
        foreach (var index in leader.Keyed(LoopPickup).Select(e => e.Key))
        {
            var chain = Follow(leader, members, spans, index);
            if (chain is null)
            {
                skipped++;
                continue;
            }

            used++;
            chains.Add(chain);
            for (var i = 0; i < steps.Length; i++)
                steps[i].Add(Ms(chain.Points[i + 1] - chain.Points[i], frequency));
            totals.Add(Ms(chain.Points[^1] - chain.Points[0], frequency));
            withoutDisk.Add(Ms(chain.Points[^1] - chain.Points[0] - (chain.Points[8] - chain.Points[7]), frequency));
            leaderSync.Add(Ms(chain.LeaderSynced - chain.Points[2], frequency));
            leaderSyncToAckStep.Add(Ms(chain.Points[12] - chain.LeaderSynced, frequency));
            if (chain.AcceptedResumed is { } resumed)
                acceptedHop.Add(Ms(resumed - chain.Points[2], frequency));
        }

        Console.WriteLine($"{used} puts traced ({skipped} without a complete chain); leader {leader.Id:x}; times in ms");
        Console.WriteLine();
        Console.WriteLine("| stage | median | p90 |");
        Console.WriteLine("|---|---:|---:|");
        for (var i = 0; i < steps.Length; i++)
            Row(Steps[i], steps[i]);
        Row("**total (client send -> response)**", totals);
        Row("total less the follower's WAL append + fsync", withoutDisk);
        Row("(parallel) leader loop: propose -> own WAL fsync done", leaderSync);
        Row("(parallel) leader fsync done -> ack stepped", leaderSyncToAckStep);
        Row("(parallel) leader loop picked up -> proposer resumed on accept", acceptedHop);
        PrintSlowest(chains, frequency);
        return 0;
    }

    // The tail, not the median: for the slowest puts, where their time went (stage by stage, the same
    // stages as above, in ms), with the leader's parallel fsync for comparison.
    private static void PrintSlowest(List<Chain> chains, long frequency, int count = 8)
    {
        var slowest = chains.OrderByDescending(c => c.Points[^1] - c.Points[0]).Take(count).ToList();
        if (slowest.Count == 0)
            return;
        Console.WriteLine();
        Console.WriteLine($"slowest {slowest.Count} puts (ms per stage, columns = puts, slowest first)");
        Console.WriteLine();
        Console.WriteLine("| stage | " + string.Join(" | ", slowest.Select((_, i) => $"#{i + 1}")) + " |");
        Console.WriteLine("|---|" + string.Concat(slowest.Select(_ => "---:|")));
        string Cell(double ms) => ms.ToString("F2", CultureInfo.InvariantCulture);
        for (var i = 0; i < Steps.Length; i++)
            Console.WriteLine($"| {Steps[i]} | " + string.Join(" | ", slowest.Select(c => Cell(Ms(c.Points[i + 1] - c.Points[i], frequency)))) + " |");
        Console.WriteLine("| **total** | " + string.Join(" | ", slowest.Select(c => Cell(Ms(c.Points[^1] - c.Points[0], frequency)))) + " |");
        Console.WriteLine("| (parallel) leader propose -> own fsync done | " + string.Join(" | ", slowest.Select(c => Cell(Ms(c.LeaderSynced - c.Points[2], frequency)))) + " |");
    }

    private static void Row(string name, List<double> values)
    {
        values.Sort();
        string At(double q) => values.Count == 0 ? "-" : values[Math.Min(values.Count - 1, (int)(q * values.Count))].ToString("F3", CultureInfo.InvariantCulture);
        Console.WriteLine($"| {name} | {At(0.5)} | {At(0.9)} |");
    }

    private static double Ms(long ticks, long frequency) => ticks * 1000.0 / frequency;

    // The time line of one put, or null when a stage is missing (ring wrapped, message retransmitted, ...).
    private static Chain? Follow(MemberTrace leader, List<MemberTrace> members, (long Start, long End)[] spans, ulong index)
    {
        var id = leader.Keyed(WaiterCompleted).FirstOrDefault(e => e.Aux == index).Key;
        if (id == 0 || leader.First(AckReceived, index) is not { } ack)
            return null;
        var follower = members.FirstOrDefault(m => m.Id == ack.Aux);
        if (follower is null)
            return null;
        long?[] points =
        [
            null,
            leader.First(RequestStart, id)?.Timestamp,
            leader.First(ProposeEnqueued, index)?.Timestamp,
            leader.First(LoopPickup, index)?.Timestamp,
            leader.First(AppendQueued, index, follower.Id)?.Timestamp,
            null,
            follower.First(AppendReceived, index)?.Timestamp,
            follower.First(AppendStepped, index)?.Timestamp,
            follower.First(Synced, index)?.Timestamp,
            follower.First(AckQueued, index)?.Timestamp,
            null,
            ack.Timestamp,
            leader.First(AckStepped, index, follower.Id)?.Timestamp,
            leader.First(Committed, index)?.Timestamp,
            leader.First(Applied, index)?.Timestamp,
            leader.First(WaiterResumed, id)?.Timestamp,
            null,
        ];
        if (points[4] is { } queued)
            points[5] = leader.FirstWrite(follower.Id, queued);
        if (points[9] is { } ackQueued)
            points[10] = follower.FirstWrite(leader.Id, ackQueued);
        if (points[1] is { } start)
        {
            var span = spans.LastOrDefault(s => s.Start <= start);
            if (span.End >= start)
            {
                points[0] = span.Start;
                points[16] = span.End;
            }
        }

        var synced = leader.First(Synced, index)?.Timestamp;
        var accepted = leader.First(AcceptedResumed, id)?.Timestamp;
        // Builds since the proposer stopped waiting for "accepted" have no AcceptedResumed stamp.
        if (points.Any(p => p is null) || synced is null)
            return null;
        return new Chain(points.Select(p => p!.Value).ToArray(), synced.Value, accepted);
    }

    private static MemberTrace Load(string path)
    {
        var lines = File.ReadLines(path).ToList();
        var header = lines[0].Split(' ');
        var trace = new MemberTrace(ulong.Parse(header[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture),
            long.Parse(header[3], CultureInfo.InvariantCulture));
        foreach (var line in lines.Skip(1))
        {
            var p = line.Split(' ');
            trace.Add(p[0], ulong.Parse(p[1], CultureInfo.InvariantCulture), ulong.Parse(p[2], CultureInfo.InvariantCulture),
                long.Parse(p[3], CultureInfo.InvariantCulture));
        }

        return trace;
    }

    private sealed record Chain(long[] Points, long LeaderSynced, long? AcceptedResumed);

    private readonly record struct TraceEvent(ulong Key, ulong Aux, long Timestamp);

    /// <summary>One member's events, by stage.</summary>
    private sealed class MemberTrace(ulong id, long frequency)
    {
        private readonly Dictionary<string, List<TraceEvent>> _byStage = [];
        private readonly Dictionary<(string Stage, ulong Key), List<TraceEvent>> _byKey = [];

        public ulong Id { get; } = id;
        public long Frequency { get; } = frequency;

        public void Add(string stage, ulong key, ulong aux, long timestamp)
        {
            if (!_byStage.TryGetValue(stage, out var list))
                _byStage[stage] = list = [];
            list.Add(new TraceEvent(key, aux, timestamp));
            if (!_byKey.TryGetValue((stage, key), out var keyed))
                _byKey[(stage, key)] = keyed = [];
            keyed.Add(new TraceEvent(key, aux, timestamp));
        }

        public int Count(string stage) => Keyed(stage).Count;

        public List<TraceEvent> Keyed(string stage) => _byStage.TryGetValue(stage, out var list) ? list : [];

        // The ring is written oldest first, so the first match is the earliest.
        public TraceEvent? First(string stage, ulong key, ulong? aux = null)
        {
            foreach (var e in _byKey.GetValueOrDefault((stage, key)) ?? [])
            {
                if (aux is null || e.Aux == aux)
                    return e;
            }

            return null;
        }

        // The first socket write to a peer at or after a message was queued for it.
        public long? FirstWrite(ulong peer, long after)
        {
            foreach (var e in Keyed(FrameWritten))
            {
                if (e.Aux == peer && e.Timestamp >= after)
                    return e.Timestamp;
            }

            return null;
        }
    }
}
