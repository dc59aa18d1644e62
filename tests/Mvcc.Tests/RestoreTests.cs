using Etcdserverpb;
using Mvccpb;
using static Cairn.Mvcc.Tests.TestUtil;

namespace Cairn.Mvcc.Tests;

/// <summary>KvStore.Restore: in-place replacement from a snapshot (used by the member on snapshot install).</summary>
public sealed class RestoreTests
{
    [Fact]
    public void RestoreReplacesEverythingAndTellsTheObserver()
    {
        var source = PropertyTests.Run(77, 800);
        var bytes = Snapshot(source);

        var target = new KvStore();
        target.Put("stale", "x");
        target.Put("zzz", "y");
        var observer = new Recorder();
        target.Observer = observer;
        target.Restore(new MemoryStream(bytes));

        Assert.Equal(bytes, Snapshot(target));
        Assert.Equal(source.Revision, target.Revision);
        Assert.Equal(source.CompactRevision, target.CompactRevision);
        Assert.Equal(source.ApproximateBytes, target.ApproximateBytes);
        Assert.Equal(source.All(), target.All());
        Assert.Equal([(source.Revision, source.CompactRevision)], observer.Restores);

        // It goes on like the source.
        source.Put("next", "1");
        target.Put("next", "1");
        Assert.Equal(Snapshot(source), Snapshot(target));
        Assert.Equal(target.Revision, observer.Writes.Single());
        var a = new List<Event>();
        var b = new List<Event>();
        source.ReadEvents(source.CompactRevision, source.Revision, 0, a);
        target.ReadEvents(target.CompactRevision, target.Revision, 0, b);
        Assert.Equal(a, b);
    }

    [Fact]
    public void ACorruptSnapshotLeavesTheStoreIntact()
    {
        var target = new KvStore();
        target.Put("keep", "me");
        var before = Snapshot(target);
        var source = new KvStore();
        source.Put("a", "1");
        var bad = Snapshot(source);
        bad[^1] ^= 1;
        Assert.ThrowsAny<InvalidDataException>(() => target.Restore(new MemoryStream(bad)));
        Assert.Equal(before, Snapshot(target));
    }

    private sealed class Recorder : IWriteObserver
    {
        public readonly List<(long, long)> Restores = [];
        public readonly List<long> Writes = [];

        public void OnWrite(long revision, IReadOnlyList<Event> events) => Writes.Add(revision);

        public void OnCompact(long compactRevision)
        {
        }

        public void OnRestore(long revision, long compactRevision) => Restores.Add((revision, compactRevision));
    }
}
