using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;
using Cairn.Raft.Transport;
using static Cairn.Raft.Tests.Transport.TransportTest;

namespace Cairn.Raft.Tests.Transport;

/// <summary>Request connections: one opaque request, one opaque answer, admitted like message streams.</summary>
public class PeerTransportRequestTests
{
    private const byte Request = 4;

    /// <summary>Generous timings: these tests check behaviour, not speed, on a loaded machine.</summary>
    private static PeerTransportOptions Slow(int maxRequestSize = 1 << 20) => new()
    {
        MaxReconnectDelay = TimeSpan.FromMilliseconds(200),
        DialTimeout = TimeSpan.FromSeconds(20),
        HandshakeTimeout = TimeSpan.FromSeconds(20),
        RequestTimeout = TimeSpan.FromSeconds(20),
        MaxRequestSize = maxRequestSize,
        Log = TestLog.Write,
    };

    [Fact]
    public async Task Request_IsAnsweredByTheHandler_WithTheSendersId()
    {
        await using var asker = new PeerTransport(0xB1, Cluster, AnyPort, (_, _) => { }, options: Slow());
        await using var leader = new PeerTransport(0xB2, Cluster, AnyPort, (_, _) => { }, options: Slow());
        leader.RequestHandler = (from, request, _) =>
            Task.FromResult(Encoding.UTF8.GetBytes($"{from:x}:{Encoding.UTF8.GetString(request.Span)}"));
        asker.AddPeer(0xB2, [leader.ListenUrl]);

        Assert.Equal("b1:renew 7", Encoding.UTF8.GetString(await asker.SendRequestAsync(0xB2, Encoding.UTF8.GetBytes("renew 7"), CancellationToken.None)));
        // Several at once, each on its own connection, each with its own answer.
        string[] answers = await Task.WhenAll(Enumerable.Range(0, 8).Select(async i =>
            Encoding.UTF8.GetString(await asker.SendRequestAsync(0xB2, Encoding.UTF8.GetBytes($"r{i}"), CancellationToken.None))));
        Assert.Equal(Enumerable.Range(0, 8).Select(i => $"b1:r{i}"), answers);
        // An empty request and an empty answer are valid frames.
        leader.RequestHandler = (_, _, _) => Task.FromResult(Array.Empty<byte>());
        Assert.Empty(await asker.SendRequestAsync(0xB2, ReadOnlyMemory<byte>.Empty, CancellationToken.None));
    }

    [Fact]
    public async Task Request_FailsWithIOException_WhenRefusedUnknownUnreachableOrTheHandlerFails()
    {
        await using var asker = new PeerTransport(0xC1, Cluster, AnyPort, (_, _) => { }, options: Slow());
        await using var silent = new PeerTransport(0xC2, Cluster, AnyPort, (_, _) => { }, options: Slow());
        await using var failing = new PeerTransport(0xC3, Cluster, AnyPort, (_, _) => { }, options: Slow());
        failing.RequestHandler = (_, _, _) => throw new InvalidOperationException("handler bug");
        asker.AddPeer(0xC2, [silent.ListenUrl]);
        asker.AddPeer(0xC3, [failing.ListenUrl]);
        asker.AddPeer(0xC4, [Url(FreePort())]);

        var refused = await Assert.ThrowsAsync<IOException>(() => asker.SendRequestAsync(0xC2, new byte[] { 1 }, CancellationToken.None));
        Assert.Contains("does not answer requests", refused.Message);
        var failed = await Assert.ThrowsAsync<IOException>(() => asker.SendRequestAsync(0xC3, new byte[] { 1 }, CancellationToken.None));
        Assert.Contains("closed without an answer", failed.Message);
        Assert.True(TestLog.Contains("handler bug"));
        await Assert.ThrowsAsync<IOException>(() => asker.SendRequestAsync(0xC4, new byte[] { 1 }, CancellationToken.None));
        await Assert.ThrowsAsync<IOException>(() => asker.SendRequestAsync(0xC9, new byte[] { 1 }, CancellationToken.None));
        await Assert.ThrowsAsync<ArgumentException>(() => asker.SendRequestAsync(0xC2, new byte[(1 << 20) + 1], CancellationToken.None));
    }

    [Fact]
    public async Task StuckHandler_IsCutOffByTheRequestTimeout_AndACancelledCallerGetsCancellation()
    {
        var options = new PeerTransportOptions { DialTimeout = TimeSpan.FromSeconds(20), RequestTimeout = TimeSpan.FromMilliseconds(300), Log = TestLog.Write };
        await using var asker = new PeerTransport(0xD1, Cluster, AnyPort, (_, _) => { }, options: Slow());
        await using var stuck = new PeerTransport(0xD2, Cluster, AnyPort, (_, _) => { }, options: options);
        stuck.RequestHandler = async (_, _, ct) =>
        {
            await Task.Delay(Timeout.Infinite, ct);
            return [];
        };
        asker.AddPeer(0xD2, [stuck.ListenUrl]);

        // The receiver gives up on its handler and closes: the asker does not wait out its own limit.
        await Assert.ThrowsAsync<IOException>(() => asker.SendRequestAsync(0xD2, new byte[] { 1 }, CancellationToken.None));

        stuck.RequestHandler = (_, _, _) => new TaskCompletionSource<byte[]>().Task;
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => asker.SendRequestAsync(0xD2, new byte[] { 1 }, cancel.Token));
    }

    [Fact]
    public async Task RequestConnections_AreAdmittedLikeMessageStreams_AndOversizedRequestsClosed()
    {
        await using var member = new PeerTransport(0xE2, Cluster, AnyPort, (_, _) => { }, options: Slow(maxRequestSize: 16));
        member.RequestHandler = (_, request, _) => Task.FromResult(request.ToArray());
        byte[] status = new byte[1];

        using (Socket other = RawConnect(member))
        {
            other.Send(Preamble(Request, Cluster + 1, 0xE1, 0xE2));
            Assert.Equal(1, other.Receive(status));
            Assert.Equal(1, status[0]); // ClusterMismatch
            Assert.True(ClosedByPeer(other));
        }

        using (Socket misrouted = RawConnect(member))
        {
            misrouted.Send(Preamble(Request, Cluster, 0xE1, 0xE9));
            Assert.Equal(1, misrouted.Receive(status));
            Assert.Equal(2, status[0]); // WrongMember
        }

        using (Socket oversized = RawConnect(member))
        {
            oversized.Send(Preamble(Request, Cluster, 0xE1, 0xE2));
            Assert.Equal(1, oversized.Receive(status));
            Assert.Equal(0, status[0]); // Accepted
            byte[] length = new byte[4];
            BinaryPrimitives.WriteInt32BigEndian(length, 17);
            oversized.Send(length);
            Assert.True(ClosedByPeer(oversized));
        }

        // The raw exchange: a request frame in, the answer frame out, then the close.
        using Socket raw = RawConnect(member);
        raw.Send(Preamble(Request, Cluster, 0xE1, 0xE2));
        Assert.Equal(1, raw.Receive(status));
        Assert.Equal(0, status[0]);
        raw.Send([0, 0, 0, 3, (byte)'a', (byte)'b', (byte)'c']);
        byte[] answer = new byte[7];
        int read = 0;
        while (read < answer.Length)
        {
            int n = raw.Receive(answer, read, answer.Length - read, SocketFlags.None);
            Assert.True(n > 0);
            read += n;
        }

        Assert.Equal(new byte[] { 0, 0, 0, 3, (byte)'a', (byte)'b', (byte)'c' }, answer);
        Assert.True(ClosedByPeer(raw));
    }
}
