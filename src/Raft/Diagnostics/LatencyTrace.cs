using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;

namespace Cairn.Raft.Diagnostics;

/// <summary>
/// Timestamps of the stages of a write (<see cref="TraceStage"/>) in a fixed-size ring, for finding
/// where the latency of one put goes. Off unless the environment variable
/// <c>CAIRN_LATENCY_TRACE</c> names a directory; the member then writes its ring there when it stops.
/// </summary>
/// <remarks>
/// Off, <see cref="Enabled"/> is a static readonly false that the JIT folds, so every
/// <see cref="Mark(TraceStage, ulong, ulong)"/> compiles to nothing. Timestamps are
/// <see cref="Stopwatch.GetTimestamp"/>, the system's monotonic clock on Linux, so the traces of
/// members on one machine can be merged on one time line (bench/Cairn.Bench <c>trace</c>).
/// </remarks>
public static class LatencyTrace
{
    /// <summary>The environment variable naming the directory traces are written to.</summary>
    public const string Variable = "CAIRN_LATENCY_TRACE";

    // A power of two (the index is masked); 64 Ki events of 32 bytes = 2 MiB, only when enabled.
    private const int Capacity = 1 << 16;

    /// <summary>True when tracing is on for this process.</summary>
    public static readonly bool Enabled = !string.IsNullOrEmpty(Environment.GetEnvironmentVariable(Variable));

    private static readonly Event[] s_events = Enabled ? new Event[Capacity] : [];
    private static long s_next = -1;

    /// <summary>Records <paramref name="stage"/> now.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Mark(TraceStage stage, ulong key, ulong aux = 0)
    {
        if (Enabled)
            Record(stage, key, aux, Stopwatch.GetTimestamp());
    }

    /// <summary>Records <paramref name="stage"/> at an earlier <paramref name="timestamp"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Mark(TraceStage stage, ulong key, ulong aux, long timestamp)
    {
        if (Enabled)
            Record(stage, key, aux, timestamp);
    }

    /// <summary>A timestamp when tracing is on, 0 otherwise (for stages recorded later).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static long Now() => Enabled ? Stopwatch.GetTimestamp() : 0;

    /// <summary>
    /// Writes the ring (oldest first) to <c>DIR/member-ID-PID.trace</c>: a header line, then one
    /// <c>stage key aux timestamp</c> line per event. Does nothing when tracing is off.
    /// </summary>
    public static void Write(ulong memberId)
    {
        if (!Enabled)
            return;
        var last = Interlocked.Read(ref s_next);
        var first = Math.Max(0, last - Capacity + 1);
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"member {memberId:x} frequency {Stopwatch.Frequency}\n");
        for (var i = first; i <= last; i++)
        {
            var e = s_events[i & (Capacity - 1)];
            text.Append(CultureInfo.InvariantCulture, $"{e.Stage} {e.Key} {e.Aux} {e.Timestamp}\n");
        }

        var directory = Environment.GetEnvironmentVariable(Variable)!;
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, $"member-{memberId:x}-{Environment.ProcessId}.trace"), text.ToString());
    }

    private static void Record(TraceStage stage, ulong key, ulong aux, long timestamp)
    {
        var i = Interlocked.Increment(ref s_next);
        s_events[i & (Capacity - 1)] = new Event(stage, key, aux, timestamp);
    }

    private readonly record struct Event(TraceStage Stage, ulong Key, ulong Aux, long Timestamp);
}
