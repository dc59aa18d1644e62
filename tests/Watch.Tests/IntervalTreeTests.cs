using System.Text;
using Cairn.Watch.Tests.Infra;

namespace Cairn.Watch.Tests;

/// <summary>The interval tree against brute force, and many overlapping range watchers end to end.</summary>
public class IntervalTreeTests
{
    private static byte[] RandomKey(Random rnd) => Encoding.ASCII.GetBytes(((char)('a' + rnd.Next(26))).ToString() + (char)('a' + rnd.Next(26)));

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Stabbing_queries_match_brute_force_under_random_inserts_and_removes(int seed)
    {
        var rnd = new Random(seed);
        var tree = new IntervalTree<int>((uint)seed);
        var live = new List<(byte[] Start, byte[]? End, int Id, IntervalTree<int>.Node Node)>();
        int nextId = 0;
        for (int step = 0; step < 4000; step++)
        {
            if (live.Count == 0 || rnd.Next(3) != 0)
            {
                var a = RandomKey(rnd);
                byte[]? end = rnd.Next(10) == 0 ? null : RandomKey(rnd);
                if (end is not null && a.AsSpan().SequenceCompareTo(end) >= 0) (a, end) = (end, a);
                if (end is not null && a.AsSpan().SequenceEqual(end)) end = [.. end, 0];
                int id = nextId++;
                live.Add((a, end, id, tree.Insert(a, end, id, id)));
            }
            else
            {
                int i = rnd.Next(live.Count);
                tree.Remove(live[i].Node);
                live.RemoveAt(i);
            }
            Assert.Equal(live.Count, tree.Count);
            if (step % 10 != 0) continue;
            var key = rnd.Next(5) == 0 ? live[rnd.Next(live.Count)].Start : RandomKey(rnd);
            var got = new List<int>();
            tree.Stab(key, got);
            var want = live.Where(l => key.AsSpan().SequenceCompareTo(l.Start) >= 0 && (l.End is null || key.AsSpan().SequenceCompareTo(l.End) < 0))
                .Select(l => l.Id).OrderBy(x => x).ToList();
            got.Sort();
            Assert.Equal(want, got);
        }
    }

    [Fact]
    public async Task Many_watchers_on_random_overlapping_ranges_each_get_exactly_their_events()
    {
        using var s = TestStore.Create();
        var rnd = new Random(12);
        var keys = Enumerable.Range(0, 40).Select(i => $"r{i:D2}").ToArray();
        await using var h = new StreamHarness(s.Watchable);
        var watches = new List<ActiveWatch>();
        for (int i = 0; i < 300; i++)
        {
            int a = rnd.Next(keys.Length), b = rnd.Next(keys.Length);
            WatchSpec spec = rnd.Next(6) switch
            {
                0 => new WatchSpec(keys[a]),
                1 => new WatchSpec(keys[a], "\0"),
                2 => new WatchSpec("r", "s"),
                _ => new WatchSpec(keys[Math.Min(a, b)], keys[Math.Max(a, b)] + "x"),
            };
            watches.Add(await Workload.Create(h, spec, i + 1, rnd.Next(4) == 0 ? 2 : 0));
            if (i % 3 == 0) s.Put(keys[rnd.Next(keys.Length)], "v" + i);
            if (i % 50 == 49)
            {
                // Cancel some on the way: removal from the tree must keep the others intact.
                var victim = watches[rnd.Next(watches.Count)];
                watches.Remove(victim);
                h.Cancel(victim.Id);
            }
        }
        for (int i = 0; i < 1000; i++)
        {
            if (rnd.Next(5) == 0) s.Delete(keys[rnd.Next(keys.Length)]);
            else s.Put(keys[rnd.Next(keys.Length)], "w" + i);
        }
        await Workload.CheckAll(h, s.Model, watches);
    }
}
