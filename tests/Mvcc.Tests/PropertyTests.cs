using Cairn.Protocol;
using Etcdserverpb;
using Mvccpb;
using Xunit.Abstractions;
using static Cairn.Mvcc.Tests.ReferenceModel;

namespace Cairn.Mvcc.Tests;

/// <summary>Random operation sequences against <see cref="ReferenceModel"/>.</summary>
public sealed class PropertyTests(ITestOutputHelper output)
{
    /// <summary>12 seeds by default; MVCC_PROPERTY_SEEDS=n runs n of them (a longer soak).</summary>
    public static IEnumerable<object[]> Seeds() =>
        Enumerable.Range(1, int.TryParse(Environment.GetEnvironmentVariable("MVCC_PROPERTY_SEEDS"), out int n) ? n : 12)
            .Select(i => new object[] { i * 7919 });

    [Theory]
    [MemberData(nameof(Seeds))]
    public void RandomOperationsMatchTheModel(int seed)
    {
        try
        {
            var stats = new Dictionary<string, int>();
            Run(seed, 2500, stats);
            output.WriteLine(string.Join(", ", stats.OrderBy(kv => kv.Key).Select(kv => $"{kv.Key}={kv.Value}")));
        }
        catch
        {
            output.WriteLine($"FAILED with seed {seed}");
            throw;
        }
    }

    internal static KvStore Run(int seed, int steps, Dictionary<string, int>? stats = null)
    {
        var rng = new Random(seed);
        var gen = new RandomOps(rng);
        Func<long, bool> leases = id => id != 7;
        var store = new KvStore(new MvccOptions { LeaseExists = leases });
        var model = new ReferenceModel { LeaseExists = leases };
        var observed = new List<(long Rev, List<Event> Events)>();
        store.Observer = new RecordingObserver(observed);

        for (int step = 0; step < steps; step++)
        {
            int kind = rng.Next(100);
            long before = store.Revision;
            int observedBefore = observed.Count;
            string what;
            if (kind < 35)
            {
                var p = gen.Put();
                what = "put " + p;
                if (!Valid(() => RequestValidation.CheckPut(p))) continue;
                Same(what, () => model.Put(p), () => store.Put(p), stats, "put");
            }
            else if (kind < 47)
            {
                var d = gen.Delete();
                what = "delete " + d;
                Same(what, () => model.DeleteRange(d), () => store.DeleteRange(d), stats, "delete");
            }
            else if (kind < 70)
            {
                var t = gen.Txn(model.Current, model.CompactRev);
                what = "txn " + t;
                if (!Valid(() => RequestValidation.CheckTxn(t, 128))) continue;
                Same(what, () => model.Txn(t), () => store.Txn(t), stats, "txn");
            }
            else if (kind < 74)
            {
                long rev = rng.Next(8) == 0 ? model.Current + 1 : Math.Max(0, model.CompactRev) + rng.Next(0, (int)Math.Max(1, model.Current - model.CompactRev) + 1);
                if (rng.Next(3) != 0) rev = Math.Max(rev, model.Current - rng.Next(6));
                what = "compact " + rev;
                Same(what, () => model.Compact(rev), () => store.Compact(new CompactionRequest { Revision = rev }), stats, "compact");
            }
            else
            {
                var r = gen.Range(model.Current, model.CompactRev);
                what = "range " + r;
                Same(what, () => model.Range(r), () => store.Range(r), stats, "range");
            }

            // The observer saw exactly the new revision's events, once.
            Assert.Equal(model.Current, store.Revision);
            if (store.Revision != before)
            {
                Assert.Equal(observedBefore + 1, observed.Count);
                Assert.Equal(store.Revision, observed[^1].Rev);
                Assert.Equal(model.Events[(int)store.Revision], observed[^1].Events);
            }
            else
            {
                Assert.Equal(observedBefore, observed.Count);
            }

            if (step % 97 == 0)
            {
                CheckEverything(store, model, rng);
            }
            if (step % 613 == 612)
            {
                // Carry on with a store restored from a snapshot: later writes, compactions and
                // replays must not tell the difference.
                var restored = KvStore.ReadSnapshot(new MemoryStream(TestUtil.Snapshot(store)), new MvccOptions { LeaseExists = leases });
                Assert.Equal(store.ApproximateBytes, restored.ApproximateBytes);
                Assert.Equal(store.HashKV(0, out _, out _), restored.HashKV(0, out _, out _));
                restored.Observer = store.Observer;
                store = restored;
            }
        }
        CheckEverything(store, model, rng);
        return store;
    }

    private static bool Valid(Action check)
    {
        try
        {
            check();
            return true;
        }
        catch (RpcException)
        {
            return false;
        }
    }

    private static void Same<T>(string what, Func<T> expected, Func<T> actual, Dictionary<string, int>? stats = null, string kind = "")
    {
        T? e = default, a = default;
        RpcException? ee = null, ae = null;
        try { e = expected(); } catch (RpcException x) { ee = x; }
        try { a = actual(); } catch (RpcException x) { ae = x; }
        if (ee is not null || ae is not null)
        {
            Assert.True(ee is not null && ae is not null, $"{what}: expected {(object?)ee ?? e}, got {(object?)ae ?? a}");
            Assert.Equal(ee!.Status, ae!.Status);
            Assert.Equal(ee.Message, ae.Message);
            Count(stats, kind + ":" + ae.Message);
            return;
        }
        if (!Equals(e, a))
        {
            Assert.Fail($"{what}\n expected {e}\n actual   {a}");
        }
        Count(stats, kind + (a is TxnResponse { Succeeded: false } ? ":failed" : ":ok"));
        if (a is RangeResponse { More: true } || a is TxnResponse t && t.Responses.Any(x => x.ResponseRange?.More == true))
        {
            Count(stats, kind + ":more");
        }
    }

    private static void Count(Dictionary<string, int>? stats, string key)
    {
        if (stats is not null && key.Length > 0)
        {
            stats[key] = stats.GetValueOrDefault(key) + 1;
        }
    }

    /// <summary>Full ranges at every readable revision, and the event history, against the model.</summary>
    internal static void CheckEverything(KvStore store, ReferenceModel model, Random rng)
    {
        Assert.Equal(Math.Max(0, model.CompactRev), store.CompactRevision);
        for (long rev = Math.Max(1, model.CompactRev); rev <= model.Current; rev++)
        {
            var all = new RangeRequest { Key = B("\0"), RangeEnd = B("\0"), Revision = rev };
            Same($"full range @{rev}", () => model.Range(all), () => store.Range(all));
        }
        foreach (long lease in new long[] { 5, 6, 7 })
        {
            var attached = model.States[^1].Values.Where(kv => kv.Lease == lease).Select(kv => S(kv.Key)).ToList();
            Assert.Equal(attached, store.KeysWithLease(lease).Select(S).ToList());
        }

        long from = Math.Max(1, model.CompactRev);
        var expected = model.EventsFrom(from);
        var actual = new List<Event>();
        long next = store.ReadEvents(from, long.MaxValue, 0, actual);
        Assert.Equal(model.Current + 1, next);
        Assert.Equal(expected, actual);

        // In pieces of at least maxEvents, never splitting a revision.
        int max = rng.Next(1, 6);
        var pieces = new List<Event>();
        long cursor = from;
        while (cursor <= model.Current)
        {
            var piece = new List<Event>();
            long after = store.ReadEvents(cursor, model.Current, max, piece);
            Assert.True(after > cursor);
            Assert.All(piece, e => Assert.InRange(e.Kv.ModRevision, cursor, after - 1));
            if (after <= model.Current)
            {
                Assert.True(piece.Count >= max);
            }
            pieces.AddRange(piece);
            cursor = after;
        }
        Assert.Equal(expected, pieces);

        if (model.CompactRev > 1)
        {
            var ex = Assert.Throws<RpcException>(() => store.ReadEvents(model.CompactRev - 1, model.Current, 0, []));
            Assert.Equal(EtcdErrors.CompactedMessage, ex.Message);
        }
    }

    private sealed class RecordingObserver(List<(long, List<Event>)> into) : IWriteObserver
    {
        public void OnWrite(long revision, IReadOnlyList<Event> events) => into.Add((revision, events.ToList()));

        public void OnCompact(long compactRevision)
        {
        }
    }
}
