using Google.Protobuf;
using Mvccpb;

namespace Cairn.Mvcc.Tests;

/// <summary>KeyTree and EventLog against plain collections.</summary>
public sealed class StructureTests
{
    [Fact]
    public void KeyTreeMatchesASortedSet()
    {
        var rng = new Random(5);
        var tree = new KeyTree();
        var set = new SortedSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < 20000; i++)
        {
            string k = rng.Next(3000).ToString("x5");
            if (rng.Next(4) == 0)
            {
                Assert.Equal(set.Remove(k), tree.Remove(TestUtil.B(k).Span));
            }
            else
            {
                tree.GetOrAdd(TestUtil.B(k), out bool added);
                Assert.Equal(set.Add(k), added);
            }
            if (i % 1000 == 0)
            {
                Assert.Equal(set.ToList(), Walk(tree.First()));
                string from = rng.Next(3000).ToString("x5");
                Assert.Equal(set.Where(x => string.CompareOrdinal(x, from) >= 0).ToList(), Walk(tree.Seek(TestUtil.B(from).Span)));
            }
        }
        Assert.Equal(set.Count, tree.Count);
        tree.RemoveWhere(ki => TestUtil.S(ki.Key).EndsWith('1'));
        set.RemoveWhere(k => k.EndsWith('1'));
        Assert.Equal(set.ToList(), Walk(tree.First()));
        tree.RemoveWhere(_ => true);
        Assert.Equal(0, tree.Count);
        Assert.False(tree.First().Valid);
        tree.GetOrAdd(TestUtil.B("again"), out _);
        Assert.Equal(["again"], Walk(tree.First()));
    }

    [Fact]
    public void KeyTreeSequentialInsertsFillLeaves()
    {
        var tree = new KeyTree();
        for (int i = 0; i < 5000; i++)
        {
            tree.GetOrAdd(TestUtil.B(i.ToString("d6")), out _);
        }
        Assert.Equal(5000, Walk(tree.First()).Count);
        Assert.NotNull(tree.Get(TestUtil.B("004999").Span));
        Assert.Null(tree.Get(TestUtil.B("005000").Span));
    }

    private static List<string> Walk(KeyTree.Cursor c)
    {
        var list = new List<string>();
        for (; c.Valid; c.Next())
        {
            list.Add(TestUtil.S(c.Current.Key));
        }
        return list;
    }

    [Fact]
    public void EventLogAppendsSearchesAndTrimsAcrossChunks()
    {
        var log = new EventLog();
        var kv = new KeyValue { Key = ByteString.CopyFromUtf8("k"), CreateRevision = 1 };
        // revisions 2..: three changes each
        int n = 0;
        for (long rev = 2; rev < 2000; rev++)
        {
            for (int sub = 0; sub < 3; sub++, n++)
            {
                log.Append(new KeyVersion(rev, sub, kv));
            }
        }
        Assert.Equal(n, log.Count);
        Assert.Equal(0, log.FirstAtOrAfter(0));
        Assert.Equal(3 * (700 - 2), log.FirstAtOrAfter(700));
        Assert.Equal(n, log.FirstAtOrAfter(5000));

        log.RemoveFirst(log.FirstAtOrAfter(700));
        Assert.Equal(700, log[0].Main);
        Assert.Equal(3 * (1999 - 699), log.Count);
        Assert.Equal(3, log.FirstAtOrAfter(701));

        long before = log.Count;
        log.Append(new KeyVersion(2000, 0, kv));
        log.Append(new KeyVersion(2000, 1, kv));
        log.TruncateTo(before);
        Assert.Equal(before, log.Count);
        Assert.Equal(1999, log[log.Count - 1].Main);
        log.Append(new KeyVersion(2000, 0, kv));
        Assert.Equal(2000, log[log.Count - 1].Main);

        log.RemoveFirst(log.Count);
        Assert.Equal(0, log.Count);
        log.Append(new KeyVersion(3000, 0, kv));
        Assert.Equal(3000, log[0].Main);
    }
}
