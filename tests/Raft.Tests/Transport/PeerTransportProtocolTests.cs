using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Text;
using Cairn.Raft.Transport;
using static Cairn.Raft.Tests.Transport.TransportTest;

namespace Cairn.Raft.Tests.Transport;

/// <summary>Handshake checks and hostile bytes: each must cost only the offending connection.</summary>
public class PeerTransportProtocolTests
{
    private const byte Messages = 1;
    private const byte Snapshot = 2;

    [Fact]
    public async Task WrongClusterId_IsRefused_InBothDirections()
    {
        var inbox = new MessageRecorder();
        var unreachable = new ConcurrentQueue<ulong>();
        await using var a = new PeerTransport(0x61, Cluster, AnyPort, (_, _) => { }, options: Options());
        await using var other = new PeerTransport(0x62, Cluster + 1, AnyPort, inbox.Handle, options: Options());
        a.PeerUnreachable += unreachable.Enqueue;
        a.AddPeer(0x62, [other.ListenUrl]);

        Assert.True(Eventually(() =>
        {
            a.Send(0x62, Message(0x61, 0));
            return unreachable.Contains(0x62UL);
        }, TimeSpan.FromSeconds(5)));
        Thread.Sleep(200);
        Assert.Equal(0, inbox.Total);
        Assert.False(a.GetPeerStats(0x62)!.Value.Connected);
        Assert.True(TestLog.Contains("[transport 62] inbound") && TestLog.Contains("cluster id mismatch"));

        // The same refusal seen on the wire: a status byte naming the reason, then the close.
        using Socket raw = RawConnect(other);
        raw.Send(Preamble(Messages, Cluster, 0x61, 0x62));
        byte[] status = new byte[1];
        Assert.Equal(1, raw.Receive(status));
        Assert.Equal(1, status[0]); // ClusterMismatch
        Assert.True(ClosedByPeer(raw));
    }

    [Fact]
    public async Task ConnectionAddressedToAnotherMember_IsRefused()
    {
        await using var b = new PeerTransport(0x72, Cluster, AnyPort, (_, _) => { }, options: Options());
        using Socket raw = RawConnect(b);
        raw.Send(Preamble(Messages, Cluster, 0x71, 0x99));
        byte[] status = new byte[1];
        Assert.Equal(1, raw.Receive(status));
        Assert.Equal(2, status[0]); // WrongMember
        Assert.True(ClosedByPeer(raw));

        using Socket v2 = RawConnect(b);
        v2.Send(Preamble(Messages, Cluster, 0x71, 0x72, version: 2));
        Assert.Equal(1, v2.Receive(status));
        Assert.Equal(3, status[0]); // UnsupportedVersion
    }

    [Fact]
    public async Task GarbageAndOversizedFrames_CloseOnlyThatConnection_ListenerKeepsServing()
    {
        var inbox = new MessageRecorder();
        await using var a = new PeerTransport(0x81, Cluster, AnyPort, (_, _) => { }, options: Options());
        await using var b = new PeerTransport(0x82, Cluster, AnyPort, inbox.Handle, options: new PeerTransportOptions { MaxFrameSize = 1 << 20, Log = TestLog.Write });
        a.AddPeer(0x82, [b.ListenUrl]);
        a.Send(0x82, Message(0x81, 0));
        Assert.True(inbox.WaitForCount(0x81, 1, TimeSpan.FromSeconds(5)));

        // 1. Not our protocol at all.
        using (Socket garbage = RawConnect(b))
        {
            garbage.Send(Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHost: x\r\n\r\n_padding_"));
            Assert.True(ClosedByPeer(garbage));
        }

        // 2. Valid handshake, then a length prefix over the 1 MiB limit.
        using (Socket oversized = RawConnect(b))
        {
            oversized.Send(Preamble(Messages, Cluster, 0x83, 0x82));
            byte[] status = new byte[1];
            Assert.Equal(1, oversized.Receive(status));
            Assert.Equal(0, status[0]);
            byte[] frame = new byte[4 + 10];
            BinaryPrimitives.WriteInt32BigEndian(frame, (1 << 20) + 1); // one past the limit; the body never comes
            oversized.Send(frame);
            Assert.True(ClosedByPeer(oversized));
        }

        // 3. Valid handshake, then one good frame and a truncated one.
        using (Socket truncated = RawConnect(b))
        {
            truncated.Send(Preamble(Messages, Cluster, 0x84, 0x82));
            truncated.Receive(new byte[1]);
            byte[] good = Message(0x84, 7);
            byte[] frames = new byte[4 + good.Length + 4 + 2];
            BinaryPrimitives.WriteInt32BigEndian(frames, good.Length);
            good.CopyTo(frames, 4);
            BinaryPrimitives.WriteInt32BigEndian(frames.AsSpan(4 + good.Length), 100);
            truncated.Send(frames);
            Assert.True(inbox.WaitForCount(0x84, 1, TimeSpan.FromSeconds(5)));
            Assert.Equal(good, inbox.From(0x84)[0]);
            truncated.Shutdown(SocketShutdown.Send);
            Assert.True(ClosedByPeer(truncated));
        }

        // 4. A client that connects and says nothing is cut off at the handshake timeout (not tested
        //    for time here); meanwhile the established stream from a and new connections still work.
        for (int seq = 1; seq <= 100; seq++)
        {
            Assert.True(a.Send(0x82, Message(0x81, seq)));
        }

        Assert.True(inbox.WaitForCount(0x81, 101, TimeSpan.FromSeconds(5)));
        Assert.Equal(Enumerable.Range(0, 101).Select(i => (long)i), inbox.From(0x81).Select(Seq));
        Assert.Equal(0, a.GetPeerStats(0x82)!.Value.ConnectFailures);

        await using var c = new PeerTransport(0x85, Cluster, AnyPort, (_, _) => { }, options: Options());
        c.AddPeer(0x82, [b.ListenUrl]);
        c.Send(0x82, Message(0x85, 0));
        Assert.True(inbox.WaitForCount(0x85, 1, TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task SilentClient_IsCutOffAtTheHandshakeTimeout()
    {
        var options = new PeerTransportOptions { HandshakeTimeout = TimeSpan.FromMilliseconds(200), Log = TestLog.Write };
        await using var b = new PeerTransport(0x86, Cluster, AnyPort, (_, _) => { }, options: options);
        using Socket silent = RawConnect(b);
        silent.Send(new byte[10]); // part of a preamble, then nothing
        var sw = System.Diagnostics.Stopwatch.StartNew();
        Assert.True(ClosedByPeer(silent));
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(4), $"closed after {sw.Elapsed}");
    }

    [Fact]
    public async Task DeadPeer_ReconnectAttemptsAreSpacedByBackoff()
    {
        var options = new PeerTransportOptions { MinReconnectDelay = TimeSpan.FromMilliseconds(50), MaxReconnectDelay = TimeSpan.FromSeconds(1), Log = TestLog.Write };
        int reports = 0;
        await using var a = new PeerTransport(0x87, Cluster, AnyPort, (_, _) => { }, options: options);
        a.PeerUnreachable += _ => Interlocked.Increment(ref reports);
        a.AddPeer(0x88, [Url(FreePort())]);
        var sw = System.Diagnostics.Stopwatch.StartNew();
        while (sw.Elapsed < TimeSpan.FromSeconds(2))
        {
            a.Send(0x88, Message(0x87, 0)); // keep work queued so the writer keeps trying
            Thread.Sleep(5);
        }

        // 50+100+200+400+800 ms covers ~1.5 s, then one attempt per second: about 6-7 attempts in 2 s,
        // against ~400 if every send (or a fixed 5 ms loop) triggered a dial.
        long failures = a.GetPeerStats(0x88)!.Value.ConnectFailures;
        Assert.InRange(failures, 3, 9);
        Assert.Equal(failures, Volatile.Read(ref reports));
    }

    [Fact]
    public async Task OversizedSend_IsDroppedAtTheSender_AndTheConnectionSurvives()
    {
        var inbox = new MessageRecorder();
        var options = new PeerTransportOptions { MaxFrameSize = 4096, Log = TestLog.Write };
        await using var a = new PeerTransport(0x91, Cluster, AnyPort, (_, _) => { }, options: options);
        await using var b = new PeerTransport(0x92, Cluster, AnyPort, inbox.Handle, options: options);
        a.AddPeer(0x92, [b.ListenUrl]);
        Assert.True(a.Send(0x92, Message(0x91, 0, 4096)));
        Assert.False(a.Send(0x92, Message(0x91, 1, 4097)));
        Assert.True(a.Send(0x92, Message(0x91, 2, 100)));
        Assert.True(inbox.WaitForCount(0x91, 2, TimeSpan.FromSeconds(5)));
        Assert.Equal([0L, 2L], inbox.From(0x91).Select(Seq));
        Assert.Equal(1, a.GetPeerStats(0x92)!.Value.MessagesDropped);
    }

    [Fact]
    public void Crc32C_MatchesTheCastagnoliCheckValue()
    {
        Assert.Equal(0xE3069283u, WireFormat.Crc32C(Encoding.ASCII.GetBytes("123456789")));
        Assert.Equal(0u, WireFormat.Crc32C([]));
    }

    [Fact]
    public async Task Urls_HttpsIsRefusedClearly_AndBadUrlsAreRejected()
    {
        Assert.Throws<NotSupportedException>(() => new PeerTransport(1, Cluster, new Uri("https://127.0.0.1:0"), (_, _) => { }));
        await using var a = new PeerTransport(0xA1, Cluster, AnyPort, (_, _) => { }, options: Options());
        Assert.Throws<NotSupportedException>(() => a.AddPeer(2, [new Uri("https://10.0.0.2:2380")]));
        Assert.Throws<ArgumentException>(() => a.AddPeer(2, [new Uri("unix://x:1")]));
        Assert.Throws<ArgumentException>(() => a.AddPeer(2, []));
        Assert.Throws<ArgumentException>(() => a.AddPeer(0xA1, [new Uri("http://127.0.0.1:1")]));
        Assert.Equal("127.0.0.1", a.ListenUrl.Host);
        Assert.NotEqual(0, a.ListenUrl.Port);
        Assert.Equal(a.ListenEndPoint.Port, a.ListenUrl.Port);
    }

    [Fact]
    public async Task ClusterInfo_IsAnsweredWithoutKnowingTheClusterId_AndRefusedWithoutAProvider()
    {
        byte[] info = Encoding.UTF8.GetBytes("cluster id and member list");
        await using var member = new PeerTransport(0xA1, Cluster, AnyPort, (_, _) => { }, options: Options());
        await using var silent = new PeerTransport(0xA2, Cluster, AnyPort, (_, _) => { }, options: Options());
        member.ClusterInfoProvider = () => info;

        // The asker is in no cluster yet (id 0 in its preamble) and does not know the member's id.
        Assert.Equal(info, await PeerTransport.FetchClusterInfoAsync(member.ListenUrl, 0xA9, Options(), CancellationToken.None));
        var refused = await Assert.ThrowsAsync<IOException>(() => PeerTransport.FetchClusterInfoAsync(silent.ListenUrl, 0xA9, Options(), CancellationToken.None));
        Assert.Contains("does not answer cluster-info requests", refused.Message);
        await Assert.ThrowsAsync<IOException>(() => PeerTransport.FetchClusterInfoAsync(Url(FreePort()), 0xA9, Options(), CancellationToken.None));

        // Message connections still require the cluster id.
        using Socket raw = RawConnect(member);
        raw.Send(Preamble(Messages, 0, 0xA9, 0xA1));
        byte[] status = new byte[1];
        Assert.Equal(1, raw.Receive(status));
        Assert.Equal(1, status[0]); // ClusterMismatch
    }
}
