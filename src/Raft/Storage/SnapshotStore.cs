using System.Globalization;

namespace Cairn.Raft.Storage;

/// <summary>
/// A directory of snapshot files, <c>{index:x16}-{term:x16}.snap</c>, each written atomically and
/// verified by checksum when loaded.
/// </summary>
/// <remarks>
/// <para>Save: write <c>name.snap.tmp</c>, fsync it, rename to <c>name.snap</c>, fsync the directory.
/// A crash at any point leaves either no new file or a complete one; stray <c>.tmp</c> files are
/// ignored and deleted. Then all but the newest <see cref="Keep"/> snapshots are deleted.</para>
/// <para>Load: newest first; a file that fails verification is renamed to <c>.broken</c> (kept for
/// inspection, no longer counted or retried), reported, and the next older one is tried. Keeping two
/// by default is what makes that fallback possible — provided the WAL was not released past the older
/// snapshot's index.</para>
/// <para>Not thread-safe: one writer.</para>
/// </remarks>
public sealed class SnapshotStore
{
    private const string Extension = ".snap";
    private const string TempSuffix = ".tmp";
    private const string BrokenSuffix = ".broken";

    /// <summary>Creates the store over <paramref name="directory"/> (created if absent).</summary>
    /// <param name="directory">Where snapshot files live.</param>
    /// <param name="keep">How many newest snapshots to keep after a save (at least 1).</param>
    public SnapshotStore(string directory, int keep = 2)
    {
        ArgumentNullException.ThrowIfNull(directory);
        ArgumentOutOfRangeException.ThrowIfLessThan(keep, 1);
        Directory = Path.GetFullPath(directory);
        Keep = keep;
        if (!System.IO.Directory.Exists(Directory))
        {
            System.IO.Directory.CreateDirectory(Directory);
            string? parent = Path.GetDirectoryName(Directory);
            if (parent is not null) NativeFile.SyncDirectory(parent);
        }
    }

    /// <summary>The directory.</summary>
    public string Directory { get; }

    /// <summary>Snapshots kept after a save.</summary>
    public int Keep { get; }

    /// <summary>Durably saves a snapshot whose data is in memory; returns its path.</summary>
    public string Save(ulong index, ulong term, ReadOnlySpan<byte> metadata, ReadOnlyMemory<byte> data) =>
        Save(index, term, metadata, sink => sink.Write(data.Span));

    /// <summary>
    /// Durably saves a snapshot, reading <paramref name="data"/> to its end (length need not be known);
    /// returns its path. When this returns the file survives a crash, and older ones beyond
    /// <see cref="Keep"/> are gone.
    /// </summary>
    public string Save(ulong index, ulong term, ReadOnlySpan<byte> metadata, Stream data)
    {
        ArgumentNullException.ThrowIfNull(data);
        return Save(index, term, metadata, sink => data.CopyTo(sink, 1 << 16));
    }

    /// <summary>
    /// Durably saves a snapshot whose data <paramref name="writeData"/> writes into the stream it is
    /// given (straight into the file, so the data never has to exist in memory as a whole); returns
    /// its path. Durability and pruning as for the other overloads.
    /// </summary>
    public string Save(ulong index, ulong term, ReadOnlySpan<byte> metadata, Action<Stream> writeData)
    {
        ArgumentNullException.ThrowIfNull(writeData);
        string path = PathOf(index, term);
        string tmp = path + TempSuffix;
        try
        {
            using (var fs = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16))
            {
                SnapshotFile.Write(fs, index, term, metadata, writeData);
                fs.Flush(flushToDisk: true);
            }
            File.Move(tmp, path, overwrite: true);
            NativeFile.SyncDirectory(Directory);
        }
        catch
        {
            try { File.Delete(tmp); } catch (IOException) { }
            throw;
        }
        Prune();
        return path;
    }

    /// <summary>
    /// Loads and verifies the snapshot saved at (<paramref name="index"/>, <paramref name="term"/>),
    /// e.g. to send its data to a follower. Safe to call from another thread than the writer's: a
    /// file pruned meanwhile is reported as missing, never read half.
    /// </summary>
    /// <exception cref="FileNotFoundException">No such snapshot (never saved, or pruned since).</exception>
    /// <exception cref="SnapshotCorruptException">The file does not verify.</exception>
    public SnapshotFile Load(ulong index, ulong term) => SnapshotFile.Load(PathOf(index, term));

    private string PathOf(ulong index, ulong term) => Path.Combine(Directory, $"{index:x16}-{term:x16}{Extension}");

    /// <summary>
    /// Loads the newest snapshot that verifies, or null if there is none. Corrupt newer files are
    /// set aside and listed in <paramref name="rejected"/> — the caller should log them.
    /// </summary>
    public SnapshotFile? LoadNewest(out IReadOnlyList<SnapshotCorruptException> rejected)
    {
        var errors = new List<SnapshotCorruptException>();
        rejected = errors;
        DeleteTemps();
        foreach ((string path, _, _) in List())
        {
            try
            {
                return SnapshotFile.Load(path);
            }
            catch (SnapshotCorruptException ex)
            {
                errors.Add(ex);
                File.Move(path, path + BrokenSuffix, overwrite: true);
                NativeFile.SyncDirectory(Directory);
            }
        }
        return null;
    }

    /// <summary>Snapshot files by descending index (then term).</summary>
    internal List<(string Path, ulong Index, ulong Term)> List()
    {
        var list = new List<(string, ulong, ulong)>();
        foreach (string path in System.IO.Directory.EnumerateFiles(Directory, "*" + Extension))
        {
            string name = Path.GetFileName(path);
            if (name.Length != 16 + 1 + 16 + Extension.Length || name[16] != '-'
                || !ulong.TryParse(name.AsSpan(0, 16), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong index)
                || !ulong.TryParse(name.AsSpan(17, 16), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong term))
                continue;
            list.Add((path, index, term));
        }
        list.Sort((a, b) => a.Item2 != b.Item2 ? b.Item2.CompareTo(a.Item2) : b.Item3.CompareTo(a.Item3));
        return list;
    }

    private void Prune()
    {
        List<(string Path, ulong Index, ulong Term)> list = List();
        if (list.Count <= Keep) return;
        for (int i = Keep; i < list.Count; i++) File.Delete(list[i].Path);
        NativeFile.SyncDirectory(Directory);
    }

    private void DeleteTemps()
    {
        foreach (string tmp in System.IO.Directory.EnumerateFiles(Directory, "*" + Extension + TempSuffix))
            File.Delete(tmp);
    }
}
