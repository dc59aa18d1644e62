using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Cairn.Raft;
using Cairn.Raft.Storage;
using Microsoft.Win32.SafeHandles;

namespace Cairn.Raft.Bench;

/// <summary>
/// WAL append throughput with fsync, against the raw fdatasync rate of the same disk measured in the
/// same run. One Append + one Sync per batch of 256-byte entries; batch sizes 1, 16, 256.
/// Usage: <c>wal [--dir PATH] [--seconds S] [--slice S] [--all]</c> (<c>--all</c> adds the non-default WAL settings).
/// </summary>
internal static partial class WalBenchmark
{
    private const int EntrySize = 256;

    public static int Run(string[] args)
    {
        string root = Arg(args, "--dir") ?? Path.Combine(Path.GetTempPath(), "cairn-walbench-" + Environment.ProcessId);
        double seconds = double.Parse(Arg(args, "--seconds") ?? "6", CultureInfo.InvariantCulture);
        // Rows take turns in short slices: the disk is shared, and its latency drifts over seconds, so
        // long turns would compare rows measured under different neighbours.
        double slice = double.Parse(Arg(args, "--slice") ?? "0.2", CultureInfo.InvariantCulture);
        int rounds = Math.Max(1, (int)Math.Ceiling(seconds / slice));
        bool all = args.Contains("--all");
        Directory.CreateDirectory(root);
        var rows = new List<RowState>();
        try
        {
            Console.Error.WriteLine($"wal bench in {root}: {seconds}s per row in {rounds} interleaved rounds");
            rows.Add(new RowState("raw: FileStream append 4 KiB + Flush(true)", 1, RawFlushTrue(Path.Combine(root, "raw1"))));
            rows.Add(new RowState("raw: pwrite 4 KiB into zero-filled file + fdatasync", 1, RawPreallocatedDataSync(Path.Combine(root, "raw2"))));
            var configs = new List<(string Name, WalOptions Options)> { ("WAL default (zero-filled segments, fdatasync)", WalOptions.Default) };
            if (all)
            {
                configs.Add(("WAL zero-filled, FullSync (RandomAccess.FlushToDisk = fsync)", WalOptions.Default with { SyncMode = WalSyncMode.FullSync }));
                configs.Add(("WAL fallocate, fdatasync", WalOptions.Default with { Preallocation = WalPreallocation.Allocate }));
                configs.Add(("WAL no preallocation, fdatasync", WalOptions.Default with { Preallocation = WalPreallocation.None }));
            }
            foreach ((string name, WalOptions options) in configs)
                foreach (int batch in new[] { 1, 16, 256 })
                    rows.Add(new RowState(name, batch, Wal(Path.Combine(root, $"wal-{rows.Count}"), options, batch)));

            // Interleaved rounds, so a noisy neighbour on the shared disk hurts every row alike.
            foreach (RowState row in rows) for (int i = 0; i < 20; i++) row.Step(); // warm-up
            for (int round = 0; round < rounds; round++)
                foreach (RowState row in rows) row.Measure(seconds / rounds);

            string? fio = Fio(Path.Combine(root, "fio"), Math.Max(2, seconds / 2));

            var sb = new StringBuilder();
            sb.AppendLine($"WAL benchmark: {EntrySize}-byte entries, one Append + one Sync per batch; {seconds}s per row over {rounds} interleaved rounds; " +
                $"{Environment.ProcessorCount} cores; {RuntimeInformation.OSDescription}");
            sb.AppendLine();
            sb.AppendLine("| what | batch | p50 per batch | p99 per batch | syncs/s | entries/s | allocated per batch |");
            sb.AppendLine("|---|---:|---:|---:|---:|---:|---:|");
            foreach (RowState row in rows)
            {
                Result r = row.Summarise();
                sb.AppendLine($"| {row.Name} | {row.Batch} | {r.P50Us:F0} µs | {r.P99Us:F0} µs | {r.SyncsPerSecond:N0} | {r.EntriesPerSecond:N0} | {r.AllocatedPerBatch:F0} B |");
            }
            if (fio is not null) { sb.AppendLine(); sb.AppendLine(fio); }
            sb.AppendLine();
            Result rawFlush = rows[0].Summarise(), rawData = rows[1].Summarise(), b1 = rows[2].Summarise(), b256 = rows[4].Summarise();
            sb.AppendLine($"Targets: batch-1 p50 {b1.P50Us:F0} µs = {b1.P50Us / rawData.P50Us:F2}× the raw fdatasync p50 ({rawData.P50Us:F0} µs) " +
                $"and {b1.P50Us / rawFlush.P50Us:F2}× the raw Flush(true) p50 ({rawFlush.P50Us:F0} µs) (target ≤ 1.3×); " +
                $"batch-256 {b256.EntriesPerSecond:N0} entries/s (target ≥ 100,000).");
            Console.WriteLine(sb.ToString());
            return 0;
        }
        finally
        {
            foreach (RowState row in rows) row.Dispose();
            try { Directory.Delete(root, recursive: true); } catch (IOException) { }
        }
    }

    private sealed record Result(double P50Us, double P99Us, double SyncsPerSecond, double EntriesPerSecond, double AllocatedPerBatch);

    /// <summary>One step function (one batch: write + sync) and what it has measured so far.</summary>
    private sealed record Bench(Action Step, IDisposable Resource);

    private sealed class RowState(string name, int batch, Bench bench) : IDisposable
    {
        private readonly List<double> _latUs = new(200_000);
        private double _elapsedS;
        private long _allocated;

        public string Name => name;
        public int Batch => batch;
        public void Step() => bench.Step();

        public void Measure(double seconds)
        {
            long start = Stopwatch.GetTimestamp(), t = start;
            long deadline = start + (long)(seconds * Stopwatch.Frequency);
            long alloc0 = GC.GetAllocatedBytesForCurrentThread();
            int cap0 = _latUs.Capacity;
            while (t < deadline)
            {
                bench.Step();
                long now = Stopwatch.GetTimestamp();
                _latUs.Add((now - t) * 1e6 / Stopwatch.Frequency);
                t = now;
            }
            // Minus the latency list's own growth (a new array of the new capacity), so what is left is the step's.
            long listGrowth = _latUs.Capacity != cap0 ? _latUs.Capacity * sizeof(double) : 0;
            _allocated += GC.GetAllocatedBytesForCurrentThread() - alloc0 - listGrowth;
            _elapsedS += (t - start) / (double)Stopwatch.Frequency;
        }

        public Result Summarise()
        {
            var sorted = _latUs.ToArray();
            Array.Sort(sorted);
            double P(double q) => sorted[Math.Min(sorted.Length - 1, (int)(q * sorted.Length))];
            return new Result(P(0.50), P(0.99), sorted.Length / _elapsedS, sorted.Length * (double)batch / _elapsedS,
                _allocated / (double)Math.Max(1, sorted.Length));
        }

        public void Dispose() => bench.Resource.Dispose();
    }

    /// <summary>The brief's baseline: a FileStream that grows by 4 KiB per write, flushed with Flush(true).</summary>
    private static Bench RawFlushTrue(string path)
    {
        var block = new byte[4096];
        new Random(1).NextBytes(block);
        var fs = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1);
        return new Bench(() => { fs.Write(block); fs.Flush(true); }, fs);
    }

    /// <summary>
    /// The best case for a log: sequential 4 KiB writes into space that was already written (zeros),
    /// so fdatasync has no size change or block allocation to commit.
    /// </summary>
    private static Bench RawPreallocatedDataSync(string path)
    {
        const long size = 256L * 1024 * 1024;
        var block = new byte[4096];
        new Random(2).NextBytes(block);
        SafeFileHandle h = File.OpenHandle(path, FileMode.Create, FileAccess.ReadWrite, FileShare.None);
        var zeros = new byte[1 << 20];
        for (long off = 0; off < size; off += zeros.Length) RandomAccess.Write(h, zeros, off);
        RandomAccess.FlushToDisk(h);
        long pos = 0;
        return new Bench(() =>
        {
            RandomAccess.Write(h, block, pos);
            pos = (pos + block.Length) % size;
            if (fdatasync((int)h.DangerousGetHandle()) != 0) throw new IOException("fdatasync failed");
        }, h);
    }

    private static Bench Wal(string dir, WalOptions options, int batch)
    {
        var entries = new Entry[batch];
        var payload = new byte[EntrySize];
        new Random(3).NextBytes(payload);
        var wal = WriteAheadLog.Open(dir, options, out _);
        ulong next = 1;
        return new Bench(() =>
        {
            for (int i = 0; i < batch; i++) entries[i] = new Entry(next + (ulong)i, 1, EntryType.Normal, payload);
            wal.Append(new HardState(1, 1, next - 1), entries);
            wal.Sync();
            next += (ulong)batch;
        }, wal);
    }

    /// <summary>Optional cross-check with fio (4 KiB sequential writes, fdatasync after each), if installed.</summary>
    private static string? Fio(string dir, double seconds)
    {
        Directory.CreateDirectory(dir);
        try
        {
            var psi = new ProcessStartInfo("fio",
                $"--name=walsync --directory={dir} --rw=write --bs=4k --size=64m --fdatasync=1 --ioengine=sync " +
                $"--time_based --runtime={Math.Max(1, (int)seconds)} --output-format=terse --terse-version=3")
            { RedirectStandardOutput = true, RedirectStandardError = true };
            using Process? p = Process.Start(psi);
            if (p is null) return null;
            string output = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode != 0) return null;
            // Terse v3: field 49 is write IOPS (1-based numbering in the fio docs).
            string[] f = output.Trim().Split(';');
            return f.Length > 49 ? $"fio (4 KiB sequential write + fdatasync each, {seconds:F0}s): {f[48]} IOPS" : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null; // not installed
        }
    }

    private static string? Arg(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int fdatasync(int fd);
}
