using System.Buffers.Binary;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Cairn.Raft.Transport;
using static Cairn.Raft.Tests.Transport.TransportTest;

namespace Cairn.Raft.Tests.Transport;

public class PeerTransportSnapshotTests
{
    [Fact]
    public async Task SnapshotOfSeveralMiB_ArrivesIntact_WhileMessagesKeepFlowing()
    {
        byte[] data = RandomBytes(42, (5 << 20) + 12345);
        byte[] header = Encoding.UTF8.GetBytes("snapshot-metadata: index=1000 term=3");
        var inbox = new MessageRecorder();
        var received = new TaskCompletionSource<(ulong From, byte[] Header, byte[] Hash, long Length, int MessagesDuring)>(TaskCreationOptions.RunContinuationsAsynchronously);

        async Task OnSnapshot(ulong from, ReadOnlyMemory<byte> hdr, Stream stream, CancellationToken ct)
        {
            using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            byte[] buf = new byte[100_000];
            long total = 0;
            int atHalf = -1;
            int n;
            while ((n = await stream.ReadAsync(buf, ct)) > 0)
            {
                sha.AppendData(buf, 0, n);
                total += n;
                if (atHalf < 0 && total >= data.Length / 2)
                {
                    // Mid-transfer, the message connection must still deliver: wait for new messages
                    // while this snapshot connection sits idle with data pending.
                    atHalf = inbox.CountFrom(0xB1);
                    bool flowed = await Task.Run(() => inbox.WaitForCount(0xB1, atHalf + 5, TimeSpan.FromSeconds(10)));
                    Assert.True(flowed, "messages stopped flowing during the snapshot transfer");
                }
            }

            received.SetResult((from, hdr.ToArray(), sha.GetHashAndReset(), total, inbox.CountFrom(0xB1) - atHalf));
        }

        await using var a = new PeerTransport(0xB1, Cluster, AnyPort, (_, _) => { }, options: Options());
        await using var b = new PeerTransport(0xB2, Cluster, AnyPort, inbox.Handle, OnSnapshot, Options());
        a.AddPeer(0xB2, [b.ListenUrl]);

        using var stopMessages = new CancellationTokenSource();
        Task<long> pump = Task.Run<long>(async () =>
        {
            long seq = 0;
            while (!stopMessages.IsCancellationRequested)
            {
                a.Send(0xB2, Message(0xB1, seq++, 200));
                await Task.Delay(1);
            }

            return seq;
        });

        await a.SendSnapshotAsync(0xB2, new MemoryStream(data), header, CancellationToken.None);
        stopMessages.Cancel();
        long sent = await pump.WaitAsync(TimeSpan.FromSeconds(10));

        var got = await received.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(0xB1UL, got.From);
        Assert.Equal(header, got.Header);
        Assert.Equal(data.Length, got.Length);
        Assert.Equal(SHA256.HashData(data), got.Hash);
        Assert.True(got.MessagesDuring >= 5);

        Assert.True(inbox.WaitForCount(0xB1, (int)sent, TimeSpan.FromSeconds(10)));
        Assert.Equal(Enumerable.Range(0, (int)sent).Select(i => (long)i), inbox.From(0xB1).Select(Seq));
    }

    [Fact]
    public async Task CorruptedChunk_IsDetected_BeforeItsBytesReachTheHandler()
    {
        var seen = new MemoryStream();
        var failure = new TaskCompletionSource<Exception>(TaskCreationOptions.RunContinuationsAsynchronously);
        async Task OnSnapshot(ulong from, ReadOnlyMemory<byte> hdr, Stream stream, CancellationToken ct)
        {
            try
            {
                await stream.CopyToAsync(seen, ct);
                failure.SetResult(new InvalidOperationException("no error surfaced"));
            }
            catch (Exception e)
            {
                failure.SetResult(e);
                throw;
            }
        }

        await using var b = new PeerTransport(0xC2, Cluster, AnyPort, (_, _) => { }, OnSnapshot, Options());
        byte[] chunk1 = RandomBytes(1, 1000);
        byte[] chunk2 = RandomBytes(2, 1000);
        byte[] chunk3 = RandomBytes(3, 1000);
        using Socket raw = RawConnect(b);
        raw.Send(Preamble(2, Cluster, 0xC1, 0xC2));
        byte[] status = new byte[1];
        Assert.Equal(1, raw.Receive(status));
        Assert.Equal(0, status[0]);

        var wire = new MemoryStream();
        WriteFrame(wire, [9, 9, 9]);
        WriteChunk(wire, chunk1, corruptAt: -1);
        WriteChunk(wire, chunk2, corruptAt: 500); // one byte flipped after its CRC was computed
        WriteChunk(wire, chunk3, corruptAt: -1);
        wire.Write(new byte[8]);
        raw.Send(wire.ToArray());

        Exception e = await failure.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.IsType<InvalidDataException>(e);
        Assert.Contains("CRC", e.Message);
        Assert.Equal(chunk1, seen.ToArray()); // nothing of the corrupt chunk was released

        byte[] reply = new byte[3];
        Assert.Equal(3, raw.Receive(reply));
        Assert.Equal(2, reply[0]); // Corrupt
    }

    [Fact]
    public async Task HandlerSwallowingTheCorruption_StillFailsTheSender()
    {
        var swallowed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        async Task OnSnapshot(ulong from, ReadOnlyMemory<byte> hdr, Stream stream, CancellationToken ct)
        {
            try
            {
                await stream.CopyToAsync(Stream.Null, ct);
            }
            catch (InvalidDataException)
            {
                swallowed.SetResult();
            }
        }

        await using var b = new PeerTransport(0xC4, Cluster, AnyPort, (_, _) => { }, OnSnapshot, Options());
        using Socket raw = RawConnect(b);
        raw.Send(Preamble(2, Cluster, 0xC3, 0xC4));
        raw.Receive(new byte[1]);
        var wire = new MemoryStream();
        WriteFrame(wire, []);
        WriteChunk(wire, RandomBytes(4, 64), corruptAt: 0);
        raw.Send(wire.ToArray());
        await swallowed.Task.WaitAsync(TimeSpan.FromSeconds(10));
        byte[] reply = new byte[3];
        Assert.Equal(3, raw.Receive(reply));
        Assert.Equal(2, reply[0]);
    }

    [Fact]
    public async Task SenderLearnsOfFailures_HandlerError_NoHandler_Unreachable_UnknownPeer()
    {
        await using var a = new PeerTransport(0xD1, Cluster, AnyPort, (_, _) => { }, options: Options());
        await using var failing = new PeerTransport(0xD2, Cluster, AnyPort, (_, _) => { },
            async (_, _, s, ct) =>
            {
                await s.CopyToAsync(Stream.Null, ct);
                throw new InvalidOperationException("disk full");
            },
            Options());
        await using var noSnapshots = new PeerTransport(0xD3, Cluster, AnyPort, (_, _) => { }, options: Options());
        a.AddPeer(0xD2, [failing.ListenUrl]);
        a.AddPeer(0xD3, [noSnapshots.ListenUrl]);
        a.AddPeer(0xD4, [Url(FreePort())]);

        var e1 = await Assert.ThrowsAsync<SnapshotTransferException>(() => a.SendSnapshotAsync(0xD2, new MemoryStream(RandomBytes(5, 200_000)), new byte[] { 1 }, CancellationToken.None));
        Assert.Contains("disk full", e1.Message);
        var e2 = await Assert.ThrowsAsync<SnapshotTransferException>(() => a.SendSnapshotAsync(0xD3, new MemoryStream(new byte[10]), default, CancellationToken.None));
        Assert.Contains("does not accept snapshots", e2.Message);
        await Assert.ThrowsAsync<SnapshotTransferException>(() => a.SendSnapshotAsync(0xD4, new MemoryStream(new byte[10]), default, CancellationToken.None));
        await Assert.ThrowsAsync<SnapshotTransferException>(() => a.SendSnapshotAsync(0xD5, new MemoryStream(new byte[10]), default, CancellationToken.None));

        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => a.SendSnapshotAsync(0xD2, new MemoryStream(new byte[10]), default, cancelled.Token));
    }

    [Fact]
    public async Task CancelledTransfer_FailsOnBothSides_AndFreesTheReceiveSlot()
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var outcomes = new System.Collections.Concurrent.ConcurrentQueue<string>();
        async Task OnSnapshot(ulong from, ReadOnlyMemory<byte> hdr, Stream stream, CancellationToken ct)
        {
            byte[] buf = new byte[64 << 10];
            long total = 0;
            try
            {
                int n;
                while ((n = await stream.ReadAsync(buf, ct)) > 0)
                {
                    total += n;
                    started.TrySetResult();
                    await Task.Delay(1, ct); // a slow consumer keeps the sender mid-stream
                }

                outcomes.Enqueue($"complete {total}");
            }
            catch (Exception e)
            {
                outcomes.Enqueue(e.GetType().Name);
                throw;
            }
        }

        // One receive slot: if the aborted transfer leaked it, the second transfer would be refused as busy.
        var options = new PeerTransportOptions { MaxConcurrentSnapshotReceives = 1, Log = TestLog.Write };
        await using var a = new PeerTransport(0xE1, Cluster, AnyPort, (_, _) => { }, options: options);
        await using var b = new PeerTransport(0xE2, Cluster, AnyPort, (_, _) => { }, OnSnapshot, options);
        a.AddPeer(0xE2, [b.ListenUrl]);

        using var cancel = new CancellationTokenSource();
        Task first = a.SendSnapshotAsync(0xE2, new MemoryStream(RandomBytes(6, 32 << 20)), default, cancel.Token);
        await started.Task.WaitAsync(TimeSpan.FromSeconds(10));
        cancel.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first);
        Assert.True(Eventually(() => !outcomes.IsEmpty, TimeSpan.FromSeconds(5)), "receiver never noticed the abort");
        Assert.DoesNotContain(outcomes, o => o.StartsWith("complete", StringComparison.Ordinal));

        byte[] second = RandomBytes(7, 100_000);
        await a.SendSnapshotAsync(0xE2, new MemoryStream(second), default, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Contains($"complete {second.Length}", outcomes);
    }

    /// <summary>Deterministic pseudo-random bytes (xorshift; the seeded System.Random is slow for tens of MiB).</summary>
    private static byte[] RandomBytes(int seed, int length)
    {
        byte[] b = new byte[length];
        ulong x = 0x9E3779B97F4A7C15UL * (ulong)(seed + 1);
        for (int i = 0; i + 8 <= length; i += 8)
        {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(i), x);
        }

        for (int i = length & ~7; i < length; i++)
        {
            b[i] = (byte)(i * 31 + seed);
        }

        return b;
    }

    private static void WriteFrame(Stream s, byte[] payload)
    {
        byte[] len = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(len, payload.Length);
        s.Write(len);
        s.Write(payload);
    }

    private static void WriteChunk(Stream s, byte[] data, int corruptAt)
    {
        byte[] head = new byte[8];
        BinaryPrimitives.WriteInt32BigEndian(head, data.Length);
        BinaryPrimitives.WriteUInt32BigEndian(head.AsSpan(4), WireFormat.Crc32C(data));
        byte[] body = (byte[])data.Clone();
        if (corruptAt >= 0)
        {
            body[corruptAt] ^= 0x40;
        }

        s.Write(head);
        s.Write(body);
    }
}
