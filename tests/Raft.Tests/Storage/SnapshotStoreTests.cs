using Cairn.Raft.Storage;

namespace Cairn.Raft.Tests.Storage;

public class SnapshotStoreTests
{
    private static byte[] Bytes(int n, int seed)
    {
        var b = new byte[n];
        new Random(seed).NextBytes(b);
        return b;
    }

    [Fact]
    public void EmptyStoreLoadsNothing()
    {
        using var dir = new TempDir();
        var store = new SnapshotStore(dir.Sub("snap"));
        Assert.Null(store.LoadNewest(out var rejected));
        Assert.Empty(rejected);
    }

    [Fact]
    public void RoundTripFromMemoryAndFromStream()
    {
        using var dir = new TempDir();
        var store = new SnapshotStore(dir.Sub("snap"));
        byte[] meta = Bytes(100, 1), data = Bytes(3 * 1024 * 1024 + 17, 2); // several copy chunks
        store.Save(10, 2, meta, data);
        SnapshotFile? s = store.LoadNewest(out var rejected);
        Assert.NotNull(s);
        Assert.Empty(rejected);
        Assert.Equal((10UL, 2UL), (s!.Index, s.Term));
        Assert.Equal(meta, s.Metadata);
        Assert.Equal(data, s.ReadData());

        byte[] data2 = Bytes(5000, 3);
        store.Save(20, 3, [], new NonSeekableStream(data2));
        s = store.LoadNewest(out _);
        Assert.Equal(20UL, s!.Index);
        Assert.Empty(s.Metadata);
        using var read = new MemoryStream();
        using (Stream stream = s.OpenData()) stream.CopyTo(read);
        Assert.Equal(data2, read.ToArray());
    }

    [Fact]
    public void CorruptNewestFallsBackToOlder()
    {
        using var dir = new TempDir();
        var store = new SnapshotStore(dir.Sub("snap"));
        store.Save(10, 1, [1], Bytes(1000, 4));
        string newest = store.Save(20, 1, [2], Bytes(1000, 5));
        using (var fs = new FileStream(newest, FileMode.Open)) { fs.Position = 500; fs.WriteByte(0x55); }

        SnapshotFile? s = store.LoadNewest(out var rejected);
        Assert.Equal(10UL, s!.Index);
        Assert.Equal(Bytes(1000, 4), s.ReadData());
        SnapshotCorruptException ex = Assert.Single(rejected);
        Assert.Equal(newest, ex.FilePath);
        Assert.False(File.Exists(newest));
        Assert.True(File.Exists(newest + ".broken")); // kept for inspection, no longer a candidate
    }

    [Fact]
    public void AllCorruptLoadsNothingButReportsEach()
    {
        using var dir = new TempDir();
        var store = new SnapshotStore(dir.Sub("snap"));
        string a = store.Save(1, 1, [], Bytes(10, 1));
        string b = store.Save(2, 1, [], Bytes(10, 2));
        foreach (string p in new[] { a, b }) using (var fs = new FileStream(p, FileMode.Open)) fs.SetLength(fs.Length - 1);
        Assert.Null(store.LoadNewest(out var rejected));
        Assert.Equal(2, rejected.Count);
    }

    [Fact]
    public void TornTempFileIsIgnored()
    {
        using var dir = new TempDir();
        var store = new SnapshotStore(dir.Sub("snap"));
        store.Save(10, 1, [], Bytes(100, 6));
        // A crash while writing snapshot 30: only part of its temp file exists.
        string tmp = Path.Combine(store.Directory, $"{30:x16}-{1:x16}.snap.tmp");
        File.WriteAllBytes(tmp, Bytes(40, 7));
        SnapshotFile? s = store.LoadNewest(out var rejected);
        Assert.Equal(10UL, s!.Index);
        Assert.Empty(rejected);
        Assert.False(File.Exists(tmp));
    }

    [Fact]
    public void EveryByteOfASnapshotFileIsChecked()
    {
        using var dir = new TempDir();
        var store = new SnapshotStore(dir.Sub("snap"));
        string path = store.Save(7, 3, [9, 8, 7], Bytes(20, 8));
        byte[] good = File.ReadAllBytes(path);
        for (int i = 0; i < good.Length; i++)
        {
            byte[] bad = (byte[])good.Clone();
            bad[i] ^= 0x01;
            File.WriteAllBytes(path, bad);
            Assert.Throws<SnapshotCorruptException>(() => SnapshotFile.Load(path));
        }
        for (int len = 0; len < good.Length; len++)
        {
            File.WriteAllBytes(path, good.AsSpan(0, len).ToArray());
            Assert.Throws<SnapshotCorruptException>(() => SnapshotFile.Load(path));
        }
        File.WriteAllBytes(path, good);
        Assert.Equal(7UL, SnapshotFile.Load(path).Index);
    }

    [Fact]
    public void OnlyTheNewestKeepArePreserved()
    {
        using var dir = new TempDir();
        var store = new SnapshotStore(dir.Sub("snap"), keep: 2);
        for (ulong i = 1; i <= 5; i++) store.Save(i * 10, 1, [], Bytes(10, (int)i));
        Assert.Equal([50UL, 40UL], store.List().Select(x => x.Index));
        Assert.Equal(2, Directory.GetFiles(store.Directory).Length);
    }

    private sealed class NonSeekableStream(byte[] data) : Stream
    {
        private readonly MemoryStream _inner = new(data);
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, Math.Min(count, 777));
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
