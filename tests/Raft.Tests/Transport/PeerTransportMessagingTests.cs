using System.Collections.Concurrent;
using System.Diagnostics;
using Cairn.Raft.Transport;
using static Cairn.Raft.Tests.Transport.TransportTest;

namespace Cairn.Raft.Tests.Transport;

public class PeerTransportMessagingTests
{
    [Fact]
    public async Task ThreeTransports_ExchangeThousandsOfMessages_InOrderPerSender_WithoutLoss()
    {
        const int PerPair = 5000;
        // Queues sized above the burst: this test is about order and integrity, not about drops.
        var options = new PeerTransportOptions { MaxQueuedMessages = 2 * PerPair, Log = TestLog.Write };
        ulong[] ids = [1, 2, 3];
        var recorders = ids.ToDictionary(id => id, _ => new MessageRecorder());
        var transports = ids.ToDictionary(id => id, id => new PeerTransport(id, Cluster, AnyPort, recorders[id].Handle, options: options));
        try
        {
            foreach (ulong a in ids)
            {
                foreach (ulong b in ids.Where(b => b != a))
                {
                    transports[a].AddPeer(b, [transports[b].ListenUrl]);
                }
            }

            // All three send concurrently, with varying sizes (some larger than one TCP segment).
            await Task.WhenAll(ids.Select(a => Task.Run(() =>
            {
                for (int seq = 0; seq < PerPair; seq++)
                {
                    foreach (ulong b in ids.Where(b => b != a))
                    {
                        Assert.True(transports[a].Send(b, Message(a, seq, 16 + (seq % 7) * 300)));
                    }
                }
            })));

            foreach (ulong b in ids)
            {
                foreach (ulong a in ids.Where(a => a != b))
                {
                    Assert.True(recorders[b].WaitForCount(a, PerPair, TimeSpan.FromSeconds(30)), $"{b} got {recorders[b].CountFrom(a)} of {PerPair} from {a}");
                    List<byte[]> got = recorders[b].From(a);
                    Assert.Equal(PerPair, got.Count);
                    for (int seq = 0; seq < PerPair; seq++)
                    {
                        // Content, not just count: sequence order and the exact bytes sent.
                        Assert.Equal(Message(a, seq, 16 + (seq % 7) * 300), got[seq]);
                    }
                }
            }

            foreach (ulong a in ids)
            {
                foreach (PeerStats s in transports[a].GetStats())
                {
                    Assert.Equal(PerPair, s.MessagesSent);
                    Assert.Equal(0, s.MessagesDropped);
                    Assert.Equal(PerPair, s.MessagesReceived);
                }
            }
        }
        finally
        {
            foreach (PeerTransport t in transports.Values)
            {
                await t.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task DownPeer_DoesNotDelayHealthyPeer_AndReconnectsWhenItComesUp()
    {
        var options = new PeerTransportOptions { MaxQueuedMessages = 500, MaxReconnectDelay = TimeSpan.FromMilliseconds(200), Log = TestLog.Write };
        var healthyInbox = new MessageRecorder();
        var lateInbox = new MessageRecorder();
        var unreachable = new ConcurrentQueue<ulong>();
        int downPort = FreePort();

        await using var sender = new PeerTransport(11, Cluster, AnyPort, (_, _) => { }, options: options);
        await using var healthy = new PeerTransport(12, Cluster, AnyPort, healthyInbox.Handle, options: options);
        sender.PeerUnreachable += unreachable.Enqueue;
        sender.AddPeer(12, [healthy.ListenUrl]);
        sender.AddPeer(13, [Url(downPort)]);

        // Connect the healthy peer first, so what follows measures steady state, not the dial.
        Assert.True(sender.Send(12, Message(11, -1)));
        Assert.True(healthyInbox.WaitForCount(11, 1, TimeSpan.FromSeconds(5)));

        // Interleave sends to the dead and the healthy peer; time each Send call and each delivery.
        const int Rounds = 2000;
        var maxSend = TimeSpan.Zero;
        var run = Stopwatch.StartNew();
        for (int seq = 0; seq < Rounds; seq++)
        {
            var one = Stopwatch.StartNew();
            sender.Send(13, Message(11, seq));
            Assert.True(sender.Send(12, Message(11, seq)));
            if (one.Elapsed > maxSend)
            {
                maxSend = one.Elapsed;
            }

            if (seq % 100 == 99)
            {
                // Pace the test (not the transport) so the healthy queue never overflows on a loaded machine.
                Eventually(() => sender.GetPeerStats(12)!.Value.Queued < 100, TimeSpan.FromSeconds(5));
            }
        }

        Assert.True(healthyInbox.WaitForCount(11, Rounds + 1, TimeSpan.FromSeconds(10)), $"healthy peer got {healthyInbox.CountFrom(11)} of {Rounds + 1}");
        TimeSpan delivered = run.Elapsed;
        Assert.Equal(Enumerable.Range(-1, Rounds + 1).Select(i => (long)i), healthyInbox.From(11).Select(Seq));
        Assert.True(delivered < TimeSpan.FromSeconds(5), $"healthy peer needed {delivered} while another peer was down");
        Assert.True(maxSend < TimeSpan.FromSeconds(1), $"a Send call took {maxSend}");

        PeerStats down = sender.GetPeerStats(13)!.Value;
        Assert.False(down.Connected);
        Assert.True(down.MessagesDropped >= Rounds - options.MaxQueuedMessages, $"dropped {down.MessagesDropped}");
        Assert.True(down.Queued <= options.MaxQueuedMessages);
        Assert.True(Eventually(() => unreachable.Contains(13UL), TimeSpan.FromSeconds(5)), "no PeerUnreachable for the dead peer");
        Assert.DoesNotContain(12UL, unreachable);
        Assert.Equal(0, sender.GetPeerStats(12)!.Value.MessagesDropped);

        // Bring the peer up on the port it was configured with: the writer's backoff retries find it.
        await using var late = new PeerTransport(13, Cluster, Url(downPort), lateInbox.Handle, options: options);
        Assert.True(Eventually(() => sender.GetPeerStats(13)!.Value.Connected, TimeSpan.FromSeconds(5)), "never reconnected");
        for (int seq = 100_000; seq < 100_050; seq++)
        {
            Assert.True(sender.Send(13, Message(11, seq)));
        }

        Assert.True(Eventually(() => lateInbox.From(11).Select(Seq).Contains(100_049), TimeSpan.FromSeconds(5)), "messages after reconnect did not arrive");
        List<long> seqs = lateInbox.From(11).Select(Seq).ToList();
        Assert.Equal(Enumerable.Range(100_000, 50).Select(i => (long)i), seqs.Where(s => s >= 100_000));
        // Nothing sent while the peer was down is delivered after it came up: those messages were stale.
        Assert.Equal(Enumerable.Range(100_000, 50).Select(i => (long)i), seqs);
    }

    [Fact]
    public async Task BrokenConnection_DropsTheQueue_AndNothingStaleIsDeliveredAfterTheHeal()
    {
        var options = new PeerTransportOptions { MaxReconnectDelay = TimeSpan.FromMilliseconds(200), Log = TestLog.Write };
        var firstInbox = new MessageRecorder();
        var healedInbox = new MessageRecorder();
        int port = FreePort();
        await using var a = new PeerTransport(0x61, Cluster, AnyPort, (_, _) => { }, options: options);
        var b = new PeerTransport(0x62, Cluster, Url(port), firstInbox.Handle, options: options);
        a.AddPeer(0x62, [Url(port)]);
        Assert.True(a.Send(0x62, Message(0x61, 0)));
        Assert.True(firstInbox.WaitForCount(0x61, 1, TimeSpan.FromSeconds(5)));

        // The link breaks; messages keep being sent (as Raft would: heartbeats, forwarded proposals).
        await b.DisposeAsync();
        Assert.True(Eventually(() => a.GetPeerStats(0x62)!.Value.ConnectFailures >= 1, TimeSpan.FromSeconds(5)), "the broken connection was not noticed");
        const int Stale = 300;
        for (int seq = 1; seq <= Stale; seq++)
        {
            a.Send(0x62, Message(0x61, seq));
        }

        // At least one more failed dial after the last stale send, then the peer comes back on the same address.
        long failures = a.GetPeerStats(0x62)!.Value.ConnectFailures;
        Assert.True(Eventually(() => a.GetPeerStats(0x62)!.Value.ConnectFailures > failures, TimeSpan.FromSeconds(5)), "no redial while the peer was down");
        PeerStats down = a.GetPeerStats(0x62)!.Value;
        Assert.Equal(0, down.Queued);
        Assert.Equal(Stale, down.MessagesDropped);

        await using var healed = new PeerTransport(0x62, Cluster, Url(port), healedInbox.Handle, options: options);
        // Nothing is sent meanwhile: the writer redials on its own.
        Assert.True(Eventually(() => a.GetPeerStats(0x62)!.Value.Connected, TimeSpan.FromSeconds(5)), "never reconnected");
        Assert.True(a.Send(0x62, Message(0x61, 1_000)));
        Assert.True(healedInbox.WaitForCount(0x61, 1, TimeSpan.FromSeconds(5)));
        Thread.Sleep(300); // anything stale would arrive by now
        Assert.Equal([1_000L], healedInbox.From(0x61).Select(Seq));
    }

    [Fact]
    public async Task StalledReceiver_BoundsSenderQueue_AndOtherPeersAreUnaffected()
    {
        var options = new PeerTransportOptions { MaxQueuedMessages = 256, WriteTimeout = TimeSpan.FromSeconds(30), Log = TestLog.Write };
        using var release = new ManualResetEventSlim(false);
        var stalledInbox = new MessageRecorder { Intercept = (_, _) => release.Wait(TimeSpan.FromSeconds(30)) };
        var freeInbox = new MessageRecorder();

        await using var sender = new PeerTransport(21, Cluster, AnyPort, (_, _) => { }, options: options);
        await using var stalled = new PeerTransport(22, Cluster, AnyPort, stalledInbox.Handle, options: options);
        await using var free = new PeerTransport(23, Cluster, AnyPort, freeInbox.Handle, options: options);
        sender.AddPeer(22, [stalled.ListenUrl]);
        sender.AddPeer(23, [free.ListenUrl]);

        // Connect the healthy peer first, so what follows measures steady state, not the dial.
        Assert.True(sender.Send(23, Message(21, -1)));
        Assert.True(freeInbox.WaitForCount(21, 1, TimeSpan.FromSeconds(5)));

        try
        {
            // 40 MiB towards the stalled peer: far beyond the socket buffers, so its queue must fill.
            const int Rounds = 40_000;
            int freeSent = 0;
            var maxSend = TimeSpan.Zero;
            for (int seq = 0; seq < Rounds; seq++)
            {
                var one = Stopwatch.StartNew();
                sender.Send(22, Message(21, seq, 1024));
                maxSend = one.Elapsed > maxSend ? one.Elapsed : maxSend;
                if (seq % 20 == 0)
                {
                    Assert.True(sender.Send(23, Message(21, freeSent++)));
                }

                if (seq % 2000 == 0)
                {
                    // Yield the test's thread: the blocked handler already holds one pool thread of two.
                    await Task.Delay(2);
                }
            }

            PeerStats s = sender.GetPeerStats(22)!.Value;
            Assert.True(s.MessagesDropped > 0, "the stalled peer's queue never overflowed");
            Assert.True(s.Queued <= options.MaxQueuedMessages, $"queue holds {s.Queued}");
            Assert.True(maxSend < TimeSpan.FromSeconds(1), $"a Send call took {maxSend}");

            // The healthy peer received everything, in order, while the other receiver was stuck.
            Assert.True(freeInbox.WaitForCount(21, freeSent + 1, TimeSpan.FromSeconds(10)), $"free peer got {freeInbox.CountFrom(21)} of {freeSent + 1}");
            Assert.Equal(Enumerable.Range(-1, freeSent + 1).Select(i => (long)i), freeInbox.From(21).Select(Seq));
            Assert.Equal(0, sender.GetPeerStats(23)!.Value.MessagesDropped);
        }
        finally
        {
            release.Set();
        }

        // Once unblocked, what was not dropped is delivered in order (gaps allowed, no reordering).
        Assert.True(Eventually(() => sender.GetPeerStats(22)!.Value.Queued == 0, TimeSpan.FromSeconds(20)));
        List<long> seqs = stalledInbox.From(21).Select(Seq).ToList();
        Assert.NotEmpty(seqs);
        Assert.Equal(seqs.OrderBy(x => x).Distinct(), seqs);
    }

    [Fact]
    public async Task PeerGoingAway_IsReportedUnreachable_EvenWhileIdle()
    {
        var inbox = new MessageRecorder();
        var unreachable = new ConcurrentQueue<ulong>();
        await using var a = new PeerTransport(0x1A, Cluster, AnyPort, (_, _) => { }, options: Options());
        var b = new PeerTransport(0x1B, Cluster, AnyPort, inbox.Handle, options: Options());
        a.PeerUnreachable += unreachable.Enqueue;
        a.AddPeer(0x1B, [b.ListenUrl]);
        a.Send(0x1B, Message(0x1A, 0));
        Assert.True(inbox.WaitForCount(0x1A, 1, TimeSpan.FromSeconds(5)));
        Assert.True(a.GetPeerStats(0x1B)!.Value.Connected);
        Assert.Empty(unreachable);

        // Nothing is sent after this: the close must be noticed by the connection watcher alone.
        await b.DisposeAsync();
        Assert.True(Eventually(() => unreachable.Contains(0x1BUL), TimeSpan.FromSeconds(3)), "closed connection not reported");
        Assert.False(a.GetPeerStats(0x1B)!.Value.Connected);
        Assert.Equal(1, a.GetPeerStats(0x1B)!.Value.MessagesSent);
    }

    [Fact]
    public async Task StalledWrite_TimesOut_Reconnects_AndOldStreamDeliversNothingMore()
    {
        var options = new PeerTransportOptions { WriteTimeout = TimeSpan.FromMilliseconds(300), MaxReconnectDelay = TimeSpan.FromMilliseconds(200), Log = TestLog.Write };
        using var release = new ManualResetEventSlim(false);
        var seqs = new List<long>();
        void OnMessage(ulong from, ReadOnlyMemory<byte> m)
        {
            long seq = Seq(m.ToArray());
            lock (seqs)
            {
                seqs.Add(seq);
            }

            if (seq == 0)
            {
                release.Wait(TimeSpan.FromSeconds(30)); // the first message blocks its connection
            }
        }

        var unreachable = new ConcurrentQueue<ulong>();
        await using var a = new PeerTransport(0x2A, Cluster, AnyPort, (_, _) => { }, options: options);
        await using var b = new PeerTransport(0x2B, Cluster, AnyPort, OnMessage, options: options);
        a.PeerUnreachable += unreachable.Enqueue;
        a.AddPeer(0x2B, [b.ListenUrl]);

        try
        {
            long next = 0;
            var sw = Stopwatch.StartNew();
            while (unreachable.IsEmpty && sw.Elapsed < TimeSpan.FromSeconds(10))
            {
                for (int i = 0; i < 200; i++)
                {
                    a.Send(0x2B, Message(0x2A, next++, 1024));
                }

                await Task.Delay(1);
            }

            Assert.Contains(0x2BUL, unreachable); // the stalled write was given up on
            Assert.True(Eventually(() => a.GetPeerStats(0x2B)!.Value.Connections >= 2, TimeSpan.FromSeconds(5)), "no reconnect after the write timeout");
        }
        finally
        {
            release.Set();
        }

        for (long seq = 1_000_000; seq < 1_000_100; seq++)
        {
            a.Send(0x2B, Message(0x2A, seq));
        }

        Assert.True(Eventually(() => { lock (seqs) { return seqs.Contains(1_000_099); } }, TimeSpan.FromSeconds(10)));
        List<long> got;
        lock (seqs)
        {
            got = seqs.ToList();
        }

        // Strictly increasing: frames the old (replaced) connection had buffered were not delivered
        // after the new connection's; gaps are the messages lost with the timed-out connection.
        for (int i = 1; i < got.Count; i++)
        {
            Assert.True(got[i] > got[i - 1], $"seq {got[i]} delivered after {got[i - 1]} (index {i})");
        }
    }

    [Fact]
    public async Task SendToUnknownOrRemovedPeer_ReturnsFalse_AndRemovedPeerIsRefused()
    {
        var inbox = new MessageRecorder();
        await using var a = new PeerTransport(31, Cluster, AnyPort, (_, _) => { }, options: Options());
        await using var b = new PeerTransport(32, Cluster, AnyPort, inbox.Handle, options: Options());
        Assert.False(a.Send(32, Message(31, 0)));
        Assert.Equal(1, a.DroppedToUnknownPeers);

        a.AddPeer(32, [b.ListenUrl]);
        b.AddPeer(31, [a.ListenUrl]);
        Assert.True(a.Send(32, Message(31, 1)));
        Assert.True(inbox.WaitForCount(31, 1, TimeSpan.FromSeconds(5)));

        // b removes a: a's existing stream is closed and its reconnects are refused.
        Assert.True(b.RemovePeer(31));
        Assert.False(b.RemovePeer(31));
        Assert.True(Eventually(() =>
        {
            a.Send(32, Message(31, 2));
            return a.GetPeerStats(32)!.Value.ConnectFailures > 0;
        }, TimeSpan.FromSeconds(5)));
        Thread.Sleep(300);
        Assert.Equal(1, inbox.CountFrom(31));
        Assert.True(Eventually(() => TestLog.Contains("[transport 20] inbound") && TestLog.Contains("removed"), TimeSpan.FromSeconds(2)));
    }

    [Fact]
    public async Task UpdatePeer_MovesTheConnectionToTheNewUrl()
    {
        var oldInbox = new MessageRecorder();
        var newInbox = new MessageRecorder();
        await using var a = new PeerTransport(41, Cluster, AnyPort, (_, _) => { }, options: Options());
        await using var oldB = new PeerTransport(42, Cluster, AnyPort, oldInbox.Handle, options: Options());
        await using var newB = new PeerTransport(42, Cluster, AnyPort, newInbox.Handle, options: Options());
        a.AddPeer(42, [oldB.ListenUrl]);
        a.Send(42, Message(41, 0));
        Assert.True(oldInbox.WaitForCount(41, 1, TimeSpan.FromSeconds(5)));

        // Re-announcing the same URLs (membership sync does this after every change) keeps the link.
        Assert.True(a.UpdatePeer(42, [oldB.ListenUrl]));
        a.AddPeer(42, [oldB.ListenUrl]);
        a.Send(42, Message(41, 100));
        Assert.True(oldInbox.WaitForCount(41, 2, TimeSpan.FromSeconds(5)));
        Assert.Equal(1, a.GetPeerStats(42)!.Value.Connections);

        Assert.True(a.UpdatePeer(42, [newB.ListenUrl]));
        Assert.False(a.UpdatePeer(99, [newB.ListenUrl]));
        Assert.True(Eventually(() =>
        {
            a.Send(42, Message(41, 1));
            return newInbox.CountFrom(41) > 0;
        }, TimeSpan.FromSeconds(5)));
        int before = oldInbox.CountFrom(41);
        a.Send(42, Message(41, 2));
        Assert.True(Eventually(() => newInbox.From(41).Select(Seq).Contains(2), TimeSpan.FromSeconds(5)));
        Assert.Equal(before, oldInbox.CountFrom(41));
        Assert.Equal(2, a.GetPeerStats(42)!.Value.Connections);
        Assert.Equal(0, a.GetPeerStats(42)!.Value.ConnectFailures);
    }

    [Fact]
    public async Task Dispose_WithLiveConnectionsAndABlockedHandler_CompletesQuickly()
    {
        using var never = new ManualResetEventSlim(false);
        var a = new PeerTransport(51, Cluster, AnyPort, (_, _) => never.Wait(TimeSpan.FromSeconds(20)), options: Options());
        var b = new PeerTransport(52, Cluster, AnyPort, (_, _) => never.Wait(TimeSpan.FromSeconds(20)), options: Options());
        try
        {
            a.AddPeer(52, [b.ListenUrl]);
            b.AddPeer(51, [a.ListenUrl]);
            for (int i = 0; i < 100; i++)
            {
                a.Send(52, Message(51, i));
                b.Send(51, Message(52, i));
            }

            Assert.True(Eventually(() => a.GetPeerStats(52)!.Value.Connected && b.GetPeerStats(51)!.Value.Connected, TimeSpan.FromSeconds(5)));

            var sw = Stopwatch.StartNew();
            await a.DisposeAsync();
            await b.DisposeAsync();
            sw.Stop();
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(3), $"dispose took {sw.Elapsed}");
            Assert.False(a.Send(52, Message(51, 0)));
            await Assert.ThrowsAsync<ObjectDisposedException>(() => a.SendSnapshotAsync(52, new MemoryStream(), default, CancellationToken.None));
        }
        finally
        {
            never.Set();
        }
    }
}
