namespace Cairn.Raft.Tests.Unit;

/// <summary>The log: storage + unstable tail, conflicts, fast backtracking, commit rules (etcd-raft log_test.go).</summary>
public sealed class RaftLogTests
{
    private static Entry E(ulong index, ulong term, string data = "") => new(index, term, EntryType.Normal, System.Text.Encoding.UTF8.GetBytes(data));

    private static RaftLog LogWith(params (ulong Index, ulong Term)[] entries)
    {
        var s = new MemoryStorage();
        s.Append(entries.Select(e => E(e.Index, e.Term)).ToArray());
        return new RaftLog(s);
    }

    [Fact]
    public void FindConflictByTerm_WorkedExample()
    {
        // Terms by index: 1:1 2:1 3:3 4:3 5:3
        var log = LogWith((1, 1), (2, 1), (3, 3), (4, 3), (5, 3));
        Assert.Equal((2UL, 1UL), log.FindConflictByTerm(5, 2));
        Assert.Equal((5UL, 3UL), log.FindConflictByTerm(5, 3));
        Assert.Equal((5UL, 3UL), log.FindConflictByTerm(5, 9));
        Assert.Equal((0UL, 0UL), log.FindConflictByTerm(5, 0));
    }

    [Fact]
    public void TryAppend_MatchingPrefix_TruncatesConflictsOnly()
    {
        var log = LogWith((1, 1), (2, 1), (3, 2));
        Assert.False(log.TryAppend(3, 1, 0, [E(4, 3)], out _)); // (3, t1) does not match
        Assert.True(log.TryAppend(1, 1, 2, [E(2, 1), E(3, 3), E(4, 3)], out var last));
        Assert.Equal(4UL, last);
        Assert.Equal(3UL, log.TermOrZero(3));
        Assert.Equal(2UL, log.Committed); // min(leader commit, last new)
        Assert.Equal(new ulong[] { 3, 4 }, log.Unstable.ToArray().Select(e => e.Index));
    }

    [Fact]
    public void TryAppend_NeverTruncatesCommitted()
    {
        var log = LogWith((1, 1), (2, 1));
        log.CommitTo(2);
        Assert.Throws<InvalidOperationException>(() => log.TryAppend(1, 1, 2, [E(2, 2)], out _));
    }

    [Fact]
    public void MaybeCommit_OnlyCurrentTerm()
    {
        var log = LogWith((1, 1), (2, 2));
        Assert.False(log.MaybeCommit(2, 3));
        Assert.True(log.MaybeCommit(2, 2));
        Assert.False(log.MaybeCommit(1, 1)); // never backwards
        Assert.Equal(2UL, log.Committed);
    }

    [Fact]
    public void IsUpToDate_ComparesLastTermThenIndex()
    {
        var log = LogWith((1, 1), (2, 2), (3, 2));
        Assert.True(log.IsUpToDate(1, 3));
        Assert.True(log.IsUpToDate(3, 2));
        Assert.False(log.IsUpToDate(2, 2));
        Assert.False(log.IsUpToDate(9, 1));
    }

    [Fact]
    public void StableTo_IgnoresReplacedEntries()
    {
        var log = LogWith();
        log.Append([E(1, 1), E(2, 1)]);
        log.Append([E(2, 2)]); // replaced before the first batch was persisted
        log.StableTo(2, 1); // stale acknowledgement: keep (2, t2) unstable
        Assert.Equal(new ulong[] { 1, 2 }, log.Unstable.ToArray().Select(e => e.Index));
        log.StableTo(2, 2);
        Assert.Equal(0, log.Unstable.Count);
    }

    [Fact]
    public void Slice_SpansStorageAndUnstable_RespectingSizeLimit()
    {
        var log = LogWith((1, 1), (2, 1));
        log.Append([E(3, 1), E(4, 1)]);
        Assert.Equal(StorageStatus.Ok, log.Slice(1, 5, ulong.MaxValue, out var all));
        Assert.Equal(new ulong[] { 1, 2, 3, 4 }, all.Select(e => e.Index));
        Assert.Equal(StorageStatus.Ok, log.Slice(1, 5, 50, out var limited));
        Assert.Equal(2, limited.Length); // 24 bytes each
        Assert.Equal(StorageStatus.Ok, log.Slice(2, 5, 0, out var one));
        Assert.Single(one); // always at least one
    }

    [Fact]
    public void MemoryStorage_CompactKeepsTermOfCompactionPoint()
    {
        var s = new MemoryStorage();
        s.Append([E(1, 1), E(2, 1), E(3, 2), E(4, 2)]);
        s.CreateSnapshot(3, new ConfState([1UL]), default);
        s.Compact(3);
        Assert.Equal(4UL, s.FirstIndex);
        Assert.Equal(StorageStatus.Ok, s.TryGetTerm(3, out var t));
        Assert.Equal(2UL, t);
        Assert.Equal(StorageStatus.Compacted, s.TryGetTerm(2, out _));
        Assert.Equal(StorageStatus.Compacted, s.TryGetEntries(3, 5, ulong.MaxValue, out _));
        Assert.Equal(StorageStatus.Unavailable, s.TryGetTerm(5, out _));
        s.Append([E(4, 3), E(5, 3)]); // overwrite the suffix
        Assert.Equal(StorageStatus.Ok, s.TryGetEntries(4, 6, ulong.MaxValue, out var es));
        Assert.Equal(new ulong[] { 3, 3 }, es.Select(e => e.Term));
    }
}
