using System.Diagnostics;
using Cairn.Raft;

namespace Cairn.Raft.Bench;

/// <summary>
/// Throughput of the pure Raft core: a 3-member cluster in one thread, in-memory storage, messages handed from
/// one core to the next in-process (optionally through the binary codec), no I/O. Reports core steps (messages
/// stepped + proposals) per second, proposals committed per second, and bytes allocated per proposal.
/// Usage: core [proposals=200000] [batch=1|16|...]
/// </summary>
internal static class CoreBenchmark
{
    private sealed class Member
    {
        public required RaftNode Node;
        public required MemoryStorage Disk;
        public ulong Applied;
    }

    public static int Run(string[] args)
    {
        var proposals = args.Length > 0 ? int.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : 200_000;
        // Wall-clock rates suffer on a shared machine; the CPU-time rates (process CPU, GC included) do not.
        Console.WriteLine("| mode | batch | proposals | steps/s (wall) | steps/CPU-s | proposals/CPU-s | bytes alloc/proposal |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|");
        foreach (var codec in new[] { false, true })
            foreach (var batch in new[] { 1, 16 })
            {
                Measure(proposals / 10, batch, codec); // warm-up
                var (steps, seconds, cpu, allocated) = Measure(proposals, batch, codec);
                Console.WriteLine($"| {(codec ? "codec" : "in-process")} | {batch} | {proposals} | {steps / seconds:N0} | {steps / cpu:N0} | {proposals / cpu:N0} | {allocated / (double)proposals:N0} |");
            }
        return 0;
    }

    private static (long Steps, double Seconds, double CpuSeconds, long Allocated) Measure(int proposals, int batch, bool codec)
    {
        var cs = new ConfState([1UL, 2, 3]);
        var members = new Dictionary<ulong, Member>();
        for (ulong id = 1; id <= 3; id++)
        {
            var disk = new MemoryStorage();
            disk.ApplySnapshot(Snapshot.Bootstrap(cs));
            disk.SetHardState(new HardState(1, 0, 1));
            members[id] = new Member
            {
                Disk = disk,
                Node = new RaftNode(new RaftConfig { Id = id, Storage = disk, Random = new Random((int)id), SnapshotCatchUpEntries = 1000 }),
                Applied = 1,
            };
        }
        var queue = new Queue<Message>();
        long steps = 0;
        void Pump()
        {
            while (true)
            {
                foreach (var m in members.Values)
                {
                    var n = m.Node;
                    while (n.HasReady)
                    {
                        var rd = n.GetReady();
                        foreach (var msg in rd.Messages) queue.Enqueue(msg);
                        if (rd.Snapshot is { } s) m.Disk.ApplySnapshot(s);
                        m.Disk.Append(rd.Entries);
                        if (rd.HardState is { } hs) m.Disk.SetHardState(hs);
                        foreach (var msg in rd.MessagesAfterPersist) queue.Enqueue(msg);
                        if (rd.CommittedEntries.Count > 0) m.Applied = rd.CommittedEntries[^1].Index;
                        n.Advance(rd);
                        if (m.Applied - m.Disk.FirstIndex > 20_000) n.SnapshotAndCompact(m.Disk, ReadOnlyMemory<byte>.Empty);
                    }
                }
                if (queue.Count == 0) return;
                while (queue.TryDequeue(out var msg))
                {
                    var delivered = codec ? MessageCodec.Decode(MessageCodec.Encode(msg)) : msg;
                    members[msg.To].Node.Step(delivered);
                    steps++;
                }
            }
        }
        members[1].Node.Campaign();
        Pump();
        if (members[1].Node.Role != RaftRole.Leader) throw new InvalidOperationException("no leader");
        var payload = new byte[256];
        var leader = members[1].Node;
        var sw = Stopwatch.StartNew();
        var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        var before = GC.GetAllocatedBytesForCurrentThread();
        var target = leader.LastIndex + (ulong)proposals;
        for (var i = 0; i < proposals; i += batch)
        {
            for (var j = 0; j < batch && i + j < proposals; j++)
            {
                leader.Propose(payload);
                steps++;
            }
            Pump();
        }
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        sw.Stop();
        var cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalSeconds;
        foreach (var m in members.Values)
            if (m.Applied < target) throw new InvalidOperationException($"member {m.Node.Id} applied {m.Applied} < {target}");
        return (steps, sw.Elapsed.TotalSeconds, cpu, allocated);
    }
}
