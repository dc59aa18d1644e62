using System.Diagnostics;
using Etcdserverpb;
using Mvccpb;
using static Cairn.Mvcc.Tests.TestUtil;

namespace Cairn.Mvcc.Tests;

public sealed class ConcurrencyTests
{
    [Fact]
    public void ObserverRunsAfterPublicationAndMayRead()
    {
        var s = new KvStore();
        var seen = new List<string>();
        s.Observer = new Callback((rev, events) =>
        {
            Assert.Equal(rev, s.Revision);
            var all = s.All();
            Assert.Equal(rev, all.Header.Revision);
            var replay = new List<Event>();
            s.ReadEvents(rev, rev, 0, replay);
            Assert.Equal(replay, events);
            Assert.NotSame(replay[0], events[0]); // fresh Event objects each time
            seen.Add($"{rev}:{string.Join(",", events.Select(e => e.Type + " " + S(e.Kv.Key)))}");
        });
        s.Put("a", "1");
        s.Delete("zz");                                            // nothing: no call
        s.Txn(new TxnRequest { Success = { Op(GetReq("a")) } });   // read-only: no call
        s.Txn(new TxnRequest { Success = { Op(DelReq("nope")) } }); // changes nothing: no call
        s.Txn(new TxnRequest { Success = { Op(PutReq("b", "1")), Op(DelReq("a")) } });
        Assert.Equal(["2:Put a", "3:Put b,Delete a"], seen);
    }

    [Fact]
    public async Task ReadersNeverSeeHalfATxn()
    {
        var s = new KvStore();
        s.Txn(new TxnRequest { Success = { Op(PutReq("x", "0")), Op(PutReq("y", "0")) } });
        using var stop = new CancellationTokenSource();
        int reads = 0;
        var readers = Enumerable.Range(0, 2).Select(_ => Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                var r = s.All();
                Assert.Equal(2, r.Kvs.Count);
                Assert.Equal(r.Kvs[0].Value, r.Kvs[1].Value);
                Assert.Equal(r.Header.Revision, r.Kvs[0].ModRevision);
                Assert.Equal(r.Kvs[0].ModRevision, r.Kvs[1].ModRevision);
                Interlocked.Increment(ref reads);
            }
        })).ToArray();
        // Keep writing until the readers (maybe slow to be scheduled on a busy machine) read a lot.
        var deadline = Stopwatch.StartNew();
        for (int i = 1; i <= 3000 || (Volatile.Read(ref reads) < 200 && deadline.Elapsed < TimeSpan.FromSeconds(60)); i++)
        {
            s.Txn(new TxnRequest { Success = { Op(PutReq("x", i.ToString())), Op(PutReq("y", i.ToString())) } });
            if (i % 500 == 0)
            {
                s.Compact(new CompactionRequest { Revision = s.Revision - 10 });
            }
        }
        stop.Cancel();
        await Task.WhenAll(readers);
        Assert.True(reads > 0);
    }

    [Fact]
    public void CatchUpOfManyEventsIsLinear()
    {
        var s = new KvStore();
        for (int i = 0; i < 100_000; i++)
        {
            s.Put("k" + (i % 1000), "v");
        }
        var whole = new List<Event>(100_000);
        var single = Stopwatch.StartNew();
        s.ReadEvents(2, s.Revision, 0, whole);
        single.Stop();
        Assert.Equal(100_000, whole.Count);

        var chunked = Stopwatch.StartNew();
        long from = 2, total = 0, calls = 0;
        var batch = new List<Event>();
        while (from <= s.Revision)
        {
            batch.Clear();
            from = s.ReadEvents(from, s.Revision, 100, batch);
            total += batch.Count;
            calls++;
        }
        chunked.Stop();
        Assert.Equal(100_000, total);
        Assert.Equal(1000, calls);
        // Linear: 1 000 binary searches on top of one pass. A replay that rescanned from the start
        // would visit ~50 million entries, hundreds of times the single pass.
        Assert.True(chunked.Elapsed < single.Elapsed * 30 + TimeSpan.FromMilliseconds(500), $"{chunked.Elapsed} vs {single.Elapsed}");
    }

    private sealed class Callback(Action<long, IReadOnlyList<Event>> onWrite) : IWriteObserver
    {
        public void OnWrite(long revision, IReadOnlyList<Event> events) => onWrite(revision, events);

        public void OnCompact(long compactRevision)
        {
        }
    }
}
