using System.Diagnostics;
using Cairn.Raft.Transport;
using Xunit.Abstractions;
using static Cairn.Raft.Tests.Transport.TransportTest;

namespace Cairn.Raft.Tests.Transport;

/// <summary>
/// Loopback figures for the status report, not a timed assertion (the CI machine is shared).
/// See them with: dotnet test tests/Raft.Tests --filter FullyQualifiedName~TransportBenchmark --logger "console;verbosity=detailed"
/// </summary>
[Trait("Category", "Benchmark")]
public class TransportBenchmark
{
    private const int PayloadSize = 256;
    private readonly ITestOutputHelper _output;

    public TransportBenchmark(ITestOutputHelper output) => _output = output;

    [Fact]
    public async Task Throughput_And_RoundTrip_Of_256ByteMessages_OnLoopback()
    {
        // Queue large enough that the flood measures the transport, not the drop policy.
        var options = new PeerTransportOptions { MaxQueuedMessages = 1 << 20, MaxQueuedBytes = 1L << 30 };
        long received = 0;
        using var pong = new SemaphoreSlim(0);
        bool echo = false;
        PeerTransport? bRef = null;

        await using var a = new PeerTransport(1, Cluster, AnyPort, (_, _) => pong.Release(), options: options);
        await using var b = new PeerTransport(2, Cluster, AnyPort, (from, m) =>
        {
            Interlocked.Increment(ref received);
            if (Volatile.Read(ref echo))
            {
                bRef!.Send(from, m);
            }
        }, options: options);
        bRef = b;
        a.AddPeer(2, [b.ListenUrl]);
        b.AddPeer(1, [a.ListenUrl]);
        byte[] payload = new byte[PayloadSize];
        new Random(7).NextBytes(payload);

        // Warm up: connections, JIT, pools.
        for (int i = 0; i < 10_000; i++)
        {
            a.Send(2, payload);
        }

        Assert.True(Eventually(() => Interlocked.Read(ref received) == 10_000, TimeSpan.FromSeconds(30)));

        // 1. Throughput: one sender floods 300k messages; time until the receiver has them all.
        const int Flood = 300_000;
        Interlocked.Exchange(ref received, 0);
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < Flood; i++)
        {
            a.Send(2, payload);
        }

        TimeSpan enqueue = sw.Elapsed;
        Assert.True(Eventually(() => Interlocked.Read(ref received) == Flood, TimeSpan.FromSeconds(60)), $"received {Interlocked.Read(ref received)} of {Flood}");
        TimeSpan flood = sw.Elapsed;
        double perSecond = Flood / flood.TotalSeconds;

        // 2. Round trip: ping-pong one message at a time, a -> b -> a.
        Volatile.Write(ref echo, true);
        const int Pings = 5000;
        var rtts = new double[Pings];
        for (int i = 0; i < Pings; i++)
        {
            long start = Stopwatch.GetTimestamp();
            a.Send(2, payload);
            Assert.True(pong.Wait(TimeSpan.FromSeconds(5)), "lost ping");
            rtts[i] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
        }

        Array.Sort(rtts);
        PeerStats s = a.GetPeerStats(2)!.Value;
        _output.WriteLine($"flood: {Flood} x {PayloadSize} B in {flood.TotalMilliseconds:0} ms (Send loop {enqueue.TotalMilliseconds:0} ms) = {perSecond:0} msg/s, {perSecond * PayloadSize / (1 << 20):0.0} MiB/s; dropped {s.MessagesDropped}");
        _output.WriteLine($"round trip ({Pings} ping-pongs): p50 {rtts[Pings / 2]:0} us, p90 {rtts[Pings * 9 / 10]:0} us, p99 {rtts[Pings * 99 / 100]:0} us, max {rtts[^1]:0} us");
        Assert.Equal(0, s.MessagesDropped);
    }
}
