using Google.Protobuf;
using Mvccpb;
using static Cairn.Mvcc.Tests.TestUtil;

namespace Cairn.Mvcc.Tests;

/// <summary>The worked example of <see cref="KeyIndex"/>'s comment, step by step.</summary>
public sealed class KeyIndexTests
{
    private static readonly ByteString K = B("k");

    private static KeyIndex Example()
    {
        // put @2, put @3, delete @4, put @6, put @7
        var ki = new KeyIndex(K);
        ki.Append(new KeyVersion(2, 0, new KeyValue { Key = K, CreateRevision = 2, ModRevision = 2, Version = 1 }));
        ki.Append(new KeyVersion(3, 0, new KeyValue { Key = K, CreateRevision = 2, ModRevision = 3, Version = 2 }));
        ki.Append(new KeyVersion(4, 0, new KeyValue { Key = K, ModRevision = 4 }));
        ki.Append(new KeyVersion(6, 0, new KeyValue { Key = K, CreateRevision = 6, ModRevision = 6, Version = 1 }));
        ki.Append(new KeyVersion(7, 0, new KeyValue { Key = K, CreateRevision = 6, ModRevision = 7, Version = 2 }));
        return ki;
    }

    private static string Gens(KeyIndex ki) =>
        string.Join(" ", ki.Generations().Select(g => "{" + string.Join(",", g.Select(v => v.ToString())) + "}"));

    [Fact]
    public void GenerationsEndAtTombstones()
    {
        var ki = Example();
        Assert.Equal("{2.0,3.0,4.0(t)} {6.0,7.0}", Gens(ki));
    }

    [Theory]
    [InlineData(1, 0, 0, 0)]
    [InlineData(2, 2, 2, 1)]
    [InlineData(3, 3, 2, 2)]
    [InlineData(4, 0, 0, 0)]
    [InlineData(5, 0, 0, 0)]
    [InlineData(6, 6, 6, 1)]
    [InlineData(7, 7, 6, 2)]
    [InlineData(9, 7, 6, 2)]
    public void ReadsAtEveryRevision(long rev, long mod, long create, long version)
    {
        var kv = Example().ValueAt(rev);
        if (mod == 0)
        {
            Assert.Null(kv);
            return;
        }
        Assert.NotNull(kv);
        Assert.Equal(mod, kv.ModRevision);
        Assert.Equal(create, kv.CreateRevision);
        Assert.Equal(version, kv.Version);
    }

    [Theory]
    [InlineData(1, "{2.0,3.0,4.0(t)} {6.0,7.0}")]
    [InlineData(2, "{2.0,3.0,4.0(t)} {6.0,7.0}")]
    [InlineData(3, "{3.0,4.0(t)} {6.0,7.0}")]
    [InlineData(4, "{6.0,7.0}")]
    [InlineData(5, "{6.0,7.0}")]
    [InlineData(6, "{6.0,7.0}")]
    [InlineData(7, "{7.0}")]
    [InlineData(100, "{7.0}")]
    public void CompactionKeepsTheLatestVersionAtOrBeforeTheRevision(long rev, string expected)
    {
        var ki = Example();
        ki.Compact(rev, out _);
        Assert.Equal(expected, Gens(ki));
        // Reads at or after the compaction revision are unchanged.
        var original = Example();
        for (long r = rev; r <= 9; r++)
        {
            Assert.Equal(original.ValueAt(r)?.ModRevision, ki.ValueAt(r)?.ModRevision);
        }
    }

    [Fact]
    public void CompactingPastAFinalTombstoneEmptiesTheKey()
    {
        var ki = Example();
        ki.Append(new KeyVersion(8, 0, new KeyValue { Key = K, ModRevision = 8 }));
        Assert.Equal("{2.0,3.0,4.0(t)} {6.0,7.0,8.0(t)}", Gens(ki));
        ki.Compact(7, out _);
        Assert.Equal("{7.0,8.0(t)}", Gens(ki));
        ki.Compact(8, out long freed);
        Assert.Equal(0, ki.Count);
        Assert.Equal(0, freed); // tombstones and empty values carry no bytes
    }

    [Fact]
    public void TwoChangesInOneRevisionReadAsTheLastOne()
    {
        // A txn deleting ["0", "\0") and putting k: tombstone at 5.0, new generation at 5.1.
        var ki = new KeyIndex(K);
        ki.Append(new KeyVersion(2, 0, new KeyValue { Key = K, CreateRevision = 2, ModRevision = 2, Version = 1 }));
        ki.Append(new KeyVersion(5, 0, new KeyValue { Key = K, ModRevision = 5 }));
        ki.Append(new KeyVersion(5, 1, new KeyValue { Key = K, CreateRevision = 5, ModRevision = 5, Version = 1 }));
        Assert.Equal(1, ki.ValueAt(5)!.Version);
        Assert.Equal(2, ki.ValueAt(4)!.ModRevision);
        ki.Compact(5, out _);
        Assert.Equal("{5.1}", Gens(ki));
    }

    [Fact]
    public void CompactionShrinksALongHistory()
    {
        var ki = new KeyIndex(K);
        for (int i = 2; i < 1000; i++)
        {
            ki.Append(new KeyVersion(i, 0, new KeyValue { Key = K, CreateRevision = 2, ModRevision = i, Version = i - 1, Value = B("x") }));
        }
        Assert.Equal(996, ki.Compact(998, out long freed));
        Assert.Equal(996, freed);
        Assert.Equal(2, ki.Count);
        Assert.Equal(998, ki.ValueAt(998)!.ModRevision);
    }
}
