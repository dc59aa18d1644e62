using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using Microsoft.Win32.SafeHandles;

namespace Cairn.Raft.Storage;

/// <summary>
/// The durable Raft log of one member: hard state, entries and snapshot markers, appended to
/// segment files in one directory and replayed on restart.
/// </summary>
/// <remarks>
/// <para><b>Files.</b> <c>{sequence:x16}-{firstIndex:x16}.wal</c>, sequence numbers contiguous from the
/// oldest kept segment. Each segment starts with a header record, then the hard state and snapshot
/// marker current when it was created (so deleting older segments never loses them), then whatever
/// was appended. <c>firstIndex</c> is the log's last index + 1 when the segment was started. A
/// <c>LOCK</c> file held exclusively keeps a second process out.</para>
/// <para><b>Preallocation.</b> By default a new segment is zero-filled to <see cref="WalOptions.SegmentSize"/>
/// before use: the size never changes while appending and no block is allocated or converted, so a
/// sync flushes only data. (Plain <c>fallocate</c> is cheaper to create but leaves "unwritten" extents
/// whose conversion on first write is a journalled metadata change — in the benchmark its batch-16/256
/// syncs were markedly slower.) Zero-filling 64 MiB takes ~130 ms here, so from half-way through a
/// segment the next one is prepared on the thread pool as <c>spare-N.wal.tmp</c>; rollover then only
/// writes the prelude, syncs, renames and syncs the directory. A segment is truncated to its used
/// length when it is closed, which is what lets every non-last segment be held to "every byte
/// decodes".</para>
/// <para><b>Durability.</b> <see cref="Append"/> encodes a whole batch into one pooled buffer and issues
/// one write; nothing is durable until <see cref="Sync"/>, which issues one <c>fdatasync</c> for all
/// appends since the previous sync (group commit: one per Raft Ready, however many entries it holds).
/// After an I/O error the log refuses further use: after a failed fsync the page cache state is unknown,
/// and retrying could report durability that does not exist.</para>
/// <para><b>Recovery.</b> See <see cref="WalSegmentScanner"/> for how a torn tail (cut off) is told from
/// corruption (<see cref="WalCorruptException"/>), and <see cref="WalReplay"/> for the replay result.</para>
/// <para><b>Threads.</b> Not thread-safe: one writer (the Raft loop) calls every method. Nothing is locked
/// on the hot path.</para>
/// </remarks>
public sealed class WriteAheadLog : IDisposable
{
    private const string LockFileName = "LOCK";
    private const string SegmentExtension = ".wal";
    private const string TempSuffix = ".tmp";
    private const int ZeroChunk = 1 << 20;
    private static readonly byte[] Zeros = new byte[ZeroChunk];

    private readonly string _dir;
    private readonly WalOptions _options;
    private readonly FileStream _lock;
    private readonly List<Segment> _segments;
    private SafeFileHandle _active;
    private long _writeOffset;
    private long _preludeEnd;
    private bool _dirty;
    private byte[] _buffer;
    private HardState _hardState;
    private WalSnapshotMarker _marker;
    private ulong _lastIndex;
    private Exception? _failure;
    private bool _disposed;
    private Task<SafeFileHandle>? _spare;
    private string? _sparePath;
    private int _spareCount;

    /// <summary>One segment file.</summary>
    internal sealed record Segment(ulong Sequence, ulong FirstIndex, string Path);

    private WriteAheadLog(string dir, WalOptions options, FileStream lockFile, List<Segment> segments,
        SafeFileHandle active, long writeOffset, long preludeEnd, HardState hs, WalSnapshotMarker marker, ulong lastIndex)
    {
        _dir = dir;
        _options = options;
        _lock = lockFile;
        _segments = segments;
        _active = active;
        _writeOffset = writeOffset;
        _preludeEnd = preludeEnd;
        _hardState = hs;
        _marker = marker;
        _lastIndex = lastIndex;
        _buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
    }

    /// <summary>The directory holding the segments.</summary>
    public string Directory => _dir;

    /// <summary>The last hard state appended (or replayed).</summary>
    public HardState HardState => _hardState;

    /// <summary>The last snapshot marker saved (or replayed).</summary>
    public WalSnapshotMarker Snapshot => _marker;

    /// <summary>Index of the last entry in the log, or of the snapshot if the log after it is empty.</summary>
    public ulong LastIndex => _lastIndex;

    /// <summary>Segments currently on disk, oldest first; the last is being appended to.</summary>
    internal IReadOnlyList<Segment> Segments => _segments;

    /// <summary>Offset in the active segment where the next record goes (tests map records to bytes).</summary>
    internal long WriteOffset => _writeOffset;

    /// <summary>
    /// Opens the WAL in <paramref name="dir"/>, creating it if absent, and replays it. A torn tail is
    /// cut off (reported in <see cref="WalReplay.TruncatedTail"/>); any other damage throws
    /// <see cref="WalCorruptException"/> and leaves the files untouched.
    /// </summary>
    public static WriteAheadLog Open(string dir, WalOptions options, out WalReplay replay)
    {
        ArgumentNullException.ThrowIfNull(dir);
        ArgumentNullException.ThrowIfNull(options);
        if (options.SegmentSize < 4096) throw new ArgumentOutOfRangeException(nameof(options), "SegmentSize must be at least 4096 bytes.");
        dir = Path.GetFullPath(dir);
        if (!System.IO.Directory.Exists(dir))
        {
            System.IO.Directory.CreateDirectory(dir);
            string? parent = Path.GetDirectoryName(dir);
            if (parent is not null) NativeFile.SyncDirectory(parent);
        }
        // FileShare.None takes an exclusive flock on Unix: a second Open (any process) fails here.
        var lockFile = new FileStream(Path.Combine(dir, LockFileName), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        try
        {
            foreach (string tmp in System.IO.Directory.EnumerateFiles(dir, "*" + SegmentExtension + TempSuffix))
                File.Delete(tmp); // a segment whose creation did not finish; it never held appended records
            List<Segment> segments = ListSegments(dir);
            if (segments.Count == 0)
            {
                var wal = CreateFresh(dir, options, lockFile);
                replay = new WalReplay(HardState.Empty, default, [], null);
                return wal;
            }
            return OpenExisting(dir, options, lockFile, segments, out replay);
        }
        catch
        {
            lockFile.Dispose();
            throw;
        }
    }

    private static WriteAheadLog CreateFresh(string dir, WalOptions options, FileStream lockFile)
    {
        var segment = new Segment(1, 1, Path.Combine(dir, SegmentName(1, 1)));
        byte[] scratch = ArrayPool<byte>.Shared.Rent(256);
        try
        {
            string tmp = segment.Path + TempSuffix;
            SafeFileHandle handle = PrepareFile(tmp, options);
            long preludeEnd = Install(dir, options, handle, tmp, segment, HardState.Empty, default, scratch);
            return new WriteAheadLog(dir, options, lockFile, [segment], handle, preludeEnd, preludeEnd, HardState.Empty, default, 0);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(scratch);
        }
    }

    private static WriteAheadLog OpenExisting(string dir, WalOptions options, FileStream lockFile, List<Segment> segments, out WalReplay replay)
    {
        var state = new ReplayState();
        WalSegmentScan? lastScan = null;
        for (int i = 0; i < segments.Count; i++)
        {
            Segment seg = segments[i];
            if (i > 0 && seg.Sequence != segments[i - 1].Sequence + 1)
                throw new WalCorruptException(dir, 0, $"segment sequence {segments[i - 1].Sequence + 1} is missing");
            bool isLast = i == segments.Count - 1;
            byte[] data = File.ReadAllBytes(seg.Path);
            WalSegmentScan scan = WalSegmentScanner.Scan(seg.Path, data, isLast);
            state.ApplySegment(seg, scan, first: i == 0);
            if (isLast) lastScan = scan;
        }
        state.Finish(segments[^1].Path);

        Segment active = segments[^1];
        SafeFileHandle handle = File.OpenHandle(active.Path, FileMode.Open, FileAccess.ReadWrite, FileShare.Read);
        try
        {
            WalTailTruncation? torn = lastScan!.Torn;
            if (torn is not null)
            {
                // Cut the torn record, then restore the preallocated zeros: later damage after the new
                // end must still look like a tail, not like a good record following a bad one.
                RandomAccess.SetLength(handle, lastScan.ValidEnd);
                Preallocate(handle, options, lastScan.ValidEnd);
                SyncHandle(handle, options);
            }
            long preludeEnd = lastScan.Records.Count > 0 ? lastScan.Records[0].Offset + WalRecord.FrameSize(WalRecord.SegmentHeaderSize) : 0;
            foreach (WalScannedRecord r in lastScan.Records)
            {
                if (r.Type == WalRecordType.Entry) break;
                preludeEnd = r.Offset + WalRecord.FrameSize(r.Payload.Length);
            }
            replay = new WalReplay(state.HardState, state.Marker, state.Entries, torn);
            return new WriteAheadLog(dir, options, lockFile, segments, handle, lastScan.ValidEnd, preludeEnd,
                state.HardState, state.Marker, state.LastIndex);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Writes <paramref name="entries"/> and then <paramref name="hardState"/> (if given) with one
    /// write call; not durable until <see cref="Sync"/>. Entries must be contiguous, above the
    /// snapshot marker, and start at most one past <see cref="LastIndex"/>; starting at or below it
    /// replaces the log from that index on (a new leader's conflicting suffix).
    /// </summary>
    /// <remarks>Entries are written before the hard state so that a torn write never leaves a commit
    /// index durable without the entries it covers.</remarks>
    public void Append(HardState? hardState, ReadOnlySpan<Entry> entries)
    {
        ThrowIfUnusable();
        if (entries.IsEmpty && hardState is null) return;
        long size = 0;
        if (!entries.IsEmpty)
        {
            ulong first = entries[0].Index;
            if (first <= _marker.Index || first > _lastIndex + 1)
                throw new ArgumentException($"entry index {first} must be in ({_marker.Index}, {_lastIndex + 1}]", nameof(entries));
            for (int i = 0; i < entries.Length; i++)
            {
                ref readonly Entry e = ref entries[i];
                if (e.Index != first + (ulong)i)
                    throw new ArgumentException($"entries not contiguous at {e.Index} (expected {first + (ulong)i})", nameof(entries));
                if (e.Type is not (EntryType.Normal or EntryType.ConfChange))
                    throw new ArgumentException($"entry {e.Index} has unknown type {e.Type}", nameof(entries));
                if (e.Data.Length > WalRecord.MaxPayload - WalRecord.EntryPrefix)
                    throw new ArgumentException($"entry {e.Index} is too large ({e.Data.Length} bytes)", nameof(entries));
                size += WalRecord.EntryFrameSize(e);
            }
        }
        if (hardState is not null) size += WalRecord.FrameSize(WalRecord.HardStateSize);
        if (size > Array.MaxLength) throw new ArgumentException("batch too large for one write", nameof(entries));

        try
        {
            if (_writeOffset + size > _options.SegmentSize && _writeOffset > _preludeEnd) Roll();
            EnsureBuffer((int)size);
            Span<byte> buf = _buffer;
            int pos = 0;
            foreach (ref readonly Entry e in entries) pos += WalRecord.WriteEntry(buf[pos..], e);
            if (hardState is { } hs) pos += WalRecord.WriteHardState(buf[pos..], hs);
            RandomAccess.Write(_active, buf[..pos], _writeOffset);
            _writeOffset += pos;
            _dirty = true;
            // Half way through a segment, start preparing the next one so the rollover does not wait for it.
            if (_spare is null && _writeOffset >= _options.SegmentSize / 2) StartSpare();
        }
        catch (Exception ex)
        {
            _failure = ex;
            throw;
        }
        if (!entries.IsEmpty) _lastIndex = entries[^1].Index;
        if (hardState is { } h) _hardState = h;
    }

    /// <summary>
    /// Makes everything appended so far durable with one <c>fdatasync</c> (nothing if nothing was
    /// appended since the last sync). Only after this returns may the member act on the appended state.
    /// </summary>
    public void Sync()
    {
        ThrowIfUnusable();
        if (!_dirty) return;
        try
        {
            SyncHandle(_active, _options);
        }
        catch (Exception ex)
        {
            _failure = ex;
            throw;
        }
        _dirty = false;
    }

    /// <summary>
    /// Records durably (this call syncs) that a snapshot at (<paramref name="index"/>, <paramref name="term"/>)
    /// is safely stored elsewhere: replay drops entries up to it, and later appends must be above it.
    /// Call only after the snapshot itself is durable.
    /// </summary>
    public void SaveSnapshotMarker(ulong index, ulong term)
    {
        ThrowIfUnusable();
        if (index < _marker.Index || (index == _marker.Index && term != _marker.Term && index != 0))
            throw new ArgumentOutOfRangeException(nameof(index), $"snapshot ({index}, {term}) is older than ({_marker.Index}, {_marker.Term})");
        try
        {
            EnsureBuffer(WalRecord.FrameSize(WalRecord.SnapshotMarkerSize));
            int n = WalRecord.WriteSnapshotMarker(_buffer, index, term);
            RandomAccess.Write(_active, _buffer.AsSpan(0, n), _writeOffset);
            _writeOffset += n;
            _dirty = true;
        }
        catch (Exception ex)
        {
            _failure = ex;
            throw;
        }
        _marker = new WalSnapshotMarker(index, term);
        if (index > _lastIndex) _lastIndex = index;
        Sync();
    }

    /// <summary>
    /// Deletes every segment that holds only entries below <paramref name="index"/> (never the segment
    /// being appended to). <paramref name="index"/> may be at most the snapshot marker's index + 1:
    /// entries not covered by a durable snapshot are never released.
    /// </summary>
    /// <remarks>A segment k may go when segment k+1 was started at first index ≤ <paramref name="index"/>:
    /// when k+1 was started the log ended at its first index − 1, so whatever of segments ≤ k was still
    /// live then lies below it; later overwrites only shorten that.</remarks>
    public void ReleaseBefore(ulong index)
    {
        ThrowIfUnusable();
        if (index > _marker.Index + 1)
            throw new ArgumentOutOfRangeException(nameof(index), $"cannot release entries at or above {index}: the snapshot marker is at {_marker.Index}");
        int n = 0;
        while (n < _segments.Count - 1 && _segments[n + 1].FirstIndex <= index) n++;
        try
        {
            for (int i = 0; i < n; i++)
            {
                // Oldest first, each made durable, so a crash leaves a contiguous run of segments.
                File.Delete(_segments[0].Path);
                _segments.RemoveAt(0);
                NativeFile.SyncDirectory(_dir);
            }
        }
        catch (Exception ex)
        {
            _failure = ex;
            throw;
        }
    }

    /// <summary>Syncs anything appended but not yet synced, then closes the files.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        try
        {
            if (_failure is null && _dirty) SyncHandle(_active, _options);
        }
        finally
        {
            DiscardSpare();
            _active.Dispose();
            _lock.Dispose();
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = [];
        }
    }

    /// <summary>Closes the full segment and starts the next; see the class remarks for the order.</summary>
    private void Roll()
    {
        // 1. The old segment's records durable, and its unused preallocated tail gone (durably), so
        //    that once a successor exists every byte of it decodes.
        SyncHandle(_active, _options);
        RandomAccess.SetLength(_active, _writeOffset);
        SyncHandle(_active, _options);
        _dirty = false;
        // 2. The successor, complete with its prelude, appears atomically under its final name.
        Segment last = _segments[^1];
        var next = new Segment(last.Sequence + 1, _lastIndex + 1, Path.Combine(_dir, SegmentName(last.Sequence + 1, _lastIndex + 1)));
        EnsureBuffer(256);
        SafeFileHandle handle;
        string tmp;
        if (_spare is not null)
        {
            tmp = _sparePath!;
            Task<SafeFileHandle> spare = _spare;
            _spare = null;
            handle = spare.GetAwaiter().GetResult(); // normally long finished: it had a whole segment's time
        }
        else
        {
            tmp = next.Path + TempSuffix;
            handle = PrepareFile(tmp, _options);
        }
        long preludeEnd;
        try
        {
            preludeEnd = Install(_dir, _options, handle, tmp, next, _hardState, _marker, _buffer);
        }
        catch
        {
            handle.Dispose();
            try { File.Delete(tmp); } catch (IOException) { }
            throw;
        }
        _active.Dispose();
        _active = handle;
        _segments.Add(next);
        _writeOffset = preludeEnd;
        _preludeEnd = preludeEnd;
    }

    /// <summary>
    /// Creates <paramref name="tmp"/> and reserves a segment's space: the slow part of starting a
    /// segment (a 64 MiB zero-fill takes ~100 ms), done in the background ahead of need.
    /// </summary>
    private static SafeFileHandle PrepareFile(string tmp, WalOptions options)
    {
        SafeFileHandle handle = File.OpenHandle(tmp, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.Read);
        try
        {
            Preallocate(handle, options, 0);
            if (options.Preallocation != WalPreallocation.None) SyncHandle(handle, options);
            return handle;
        }
        catch
        {
            handle.Dispose();
            try { File.Delete(tmp); } catch (IOException) { }
            throw;
        }
    }

    /// <summary>
    /// Writes the prelude (header, hard state, snapshot marker) into a prepared file, syncs it, and
    /// only then gives it its segment name, so a segment under its final name always has a header.
    /// Returns the prelude's length.
    /// </summary>
    private static int Install(string dir, WalOptions options, SafeFileHandle handle, string tmp, Segment segment,
        HardState hs, WalSnapshotMarker marker, byte[] scratch)
    {
        int n = WalRecord.WriteSegmentHeader(scratch, segment.Sequence, segment.FirstIndex);
        if (!hs.IsEmpty) n += WalRecord.WriteHardState(scratch.AsSpan(n), hs);
        if (marker.Index != 0) n += WalRecord.WriteSnapshotMarker(scratch.AsSpan(n), marker.Index, marker.Term);
        RandomAccess.Write(handle, scratch.AsSpan(0, n), 0);
        SyncHandle(handle, options);
        File.Move(tmp, segment.Path);
        NativeFile.SyncDirectory(dir);
        return n;
    }

    /// <summary>
    /// Starts preparing the next segment's file on the thread pool (not needed without preallocation:
    /// creating an empty file is cheap). The task touches only its own file; the writer takes the
    /// handle at rollover, so the single-writer rule still holds for everything shared.
    /// </summary>
    private void StartSpare()
    {
        if (_options.Preallocation == WalPreallocation.None) return;
        string path = Path.Combine(_dir, $"spare-{_spareCount++}{SegmentExtension}{TempSuffix}");
        WalOptions options = _options;
        _sparePath = path;
        _spare = Task.Run(() => PrepareFile(path, options));
    }

    private void DiscardSpare()
    {
        if (_spare is null) return;
        try
        {
            _spare.GetAwaiter().GetResult().Dispose();
            File.Delete(_sparePath!);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // The spare never held records; a leftover is deleted by the next Open.
        }
        _spare = null;
    }

    private static void Preallocate(SafeFileHandle handle, WalOptions options, long from)
    {
        switch (options.Preallocation)
        {
            case WalPreallocation.ZeroFill:
                for (long off = from; off < options.SegmentSize; off += ZeroChunk)
                    RandomAccess.Write(handle, Zeros.AsSpan(0, (int)Math.Min(ZeroChunk, options.SegmentSize - off)), off);
                break;
            case WalPreallocation.Allocate:
                if (from < options.SegmentSize) NativeFile.TryAllocate(handle, options.SegmentSize);
                break;
        }
    }

    private static void SyncHandle(SafeFileHandle handle, WalOptions options)
    {
        if (options.SyncMode == WalSyncMode.FullSync) RandomAccess.FlushToDisk(handle);
        else NativeFile.DataSync(handle);
    }

    private void EnsureBuffer(int size)
    {
        if (_buffer.Length >= size) return;
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = ArrayPool<byte>.Shared.Rent(Math.Max(size, _buffer.Length * 2));
    }

    private void ThrowIfUnusable()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_failure is not null)
            throw new InvalidOperationException("the WAL failed an earlier write or sync and must be reopened", _failure);
    }

    internal static string SegmentName(ulong sequence, ulong firstIndex) =>
        $"{sequence:x16}-{firstIndex:x16}{SegmentExtension}";

    private static List<Segment> ListSegments(string dir)
    {
        var list = new List<Segment>();
        foreach (string path in System.IO.Directory.EnumerateFiles(dir, "*" + SegmentExtension))
        {
            string name = Path.GetFileName(path);
            if (name.Length != 16 + 1 + 16 + SegmentExtension.Length || name[16] != '-'
                || !ulong.TryParse(name.AsSpan(0, 16), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong seq)
                || !ulong.TryParse(name.AsSpan(17, 16), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong first))
                continue;
            list.Add(new Segment(seq, first, path));
        }
        list.Sort((a, b) => a.Sequence.CompareTo(b.Sequence));
        return list;
    }

    /// <summary>
    /// Rebuilds the log from records, applying exactly the rules <see cref="Append"/> enforces, so
    /// anything a correct writer could not have produced is reported as corruption.
    /// </summary>
    private sealed class ReplayState
    {
        public HardState HardState;
        public WalSnapshotMarker Marker;
        public ulong LastIndex;
        public readonly List<Entry> Entries = [];

        public void ApplySegment(Segment seg, WalSegmentScan scan, bool first)
        {
            List<WalScannedRecord> recs = scan.Records;
            if (recs.Count == 0 || recs[0].Type != WalRecordType.SegmentHeader)
                throw new WalCorruptException(seg.Path, 0, "segment does not start with a header record");
            ReadOnlySpan<byte> h = recs[0].Payload.Span;
            if (h.Length != WalRecord.SegmentHeaderSize || BinaryPrimitives.ReadUInt32LittleEndian(h) != WalRecord.Magic)
                throw new WalCorruptException(seg.Path, 0, "bad segment header");
            if (BinaryPrimitives.ReadUInt16LittleEndian(h[4..]) != WalRecord.Version)
                throw new WalCorruptException(seg.Path, 0, $"unsupported segment version {BinaryPrimitives.ReadUInt16LittleEndian(h[4..])}");
            ulong seq = BinaryPrimitives.ReadUInt64LittleEndian(h[8..]);
            ulong firstIndex = BinaryPrimitives.ReadUInt64LittleEndian(h[16..]);
            if (seq != seg.Sequence || firstIndex != seg.FirstIndex || firstIndex == 0)
                throw new WalCorruptException(seg.Path, 0, $"header (sequence {seq}, first index {firstIndex}) does not match the file name");
            if (first) LastIndex = firstIndex - 1; // older segments may have been released
            else if (firstIndex != LastIndex + 1)
                throw new WalCorruptException(seg.Path, 0, $"segment starts at index {firstIndex} but the log so far ends at {LastIndex}");

            for (int i = 1; i < recs.Count; i++)
            {
                WalScannedRecord r = recs[i];
                ReadOnlySpan<byte> p = r.Payload.Span;
                switch (r.Type)
                {
                    case WalRecordType.HardState:
                        if (p.Length != WalRecord.HardStateSize) throw Bad(seg, r, "hard state of wrong size");
                        HardState = new HardState(BinaryPrimitives.ReadUInt64LittleEndian(p),
                            BinaryPrimitives.ReadUInt64LittleEndian(p[8..]), BinaryPrimitives.ReadUInt64LittleEndian(p[16..]));
                        break;
                    case WalRecordType.SnapshotMarker:
                    {
                        if (p.Length != WalRecord.SnapshotMarkerSize) throw Bad(seg, r, "snapshot marker of wrong size");
                        var m = new WalSnapshotMarker(BinaryPrimitives.ReadUInt64LittleEndian(p), BinaryPrimitives.ReadUInt64LittleEndian(p[8..]));
                        if (m.Index < Marker.Index) throw Bad(seg, r, $"snapshot marker {m.Index} goes back from {Marker.Index}");
                        Marker = m;
                        // Entries up to the marker are kept (for WalReplay.TryGetEntriesAfter, the fallback
                        // to an older snapshot) only while they provably belong to the snapshot's history:
                        // the log holds (m.Index, m.Term) itself, so by Log Matching everything before
                        // agrees with it. A snapshot from a leader that does not match replaces them.
                        if (Entries.Count > 0 && m.Index >= Entries[0].Index)
                        {
                            ulong at = m.Index - Entries[0].Index;
                            if (m.Index > Entries[^1].Index) Entries.Clear();
                            else if (Entries[(int)at].Term != m.Term) Entries.RemoveRange(0, (int)at + 1);
                        }
                        if (m.Index > LastIndex) LastIndex = m.Index;
                        break;
                    }
                    case WalRecordType.Entry:
                    {
                        if (p.Length < WalRecord.EntryPrefix) throw Bad(seg, r, "entry record too short");
                        ulong index = BinaryPrimitives.ReadUInt64LittleEndian(p);
                        ulong term = BinaryPrimitives.ReadUInt64LittleEndian(p[8..]);
                        byte type = p[16];
                        if (type > (byte)EntryType.ConfChange) throw Bad(seg, r, $"entry {index} has unknown type {type}");
                        if (index <= Marker.Index || index > LastIndex + 1)
                            throw Bad(seg, r, $"entry index {index} outside ({Marker.Index}, {LastIndex + 1}]");
                        if (Entries.Count > 0)
                        {
                            ulong head = Entries[0].Index;
                            if (index <= Entries[^1].Index)
                            {
                                int from = index <= head ? 0 : (int)(index - head);
                                Entries.RemoveRange(from, Entries.Count - from); // conflicting suffix replaced
                            }
                            else if (index != Entries[^1].Index + 1)
                            {
                                Entries.Clear(); // a hole left by released segments; Finish checks a marker covers it
                            }
                        }
                        Entries.Add(new Entry(index, term, (EntryType)type, r.Payload[WalRecord.EntryPrefix..]));
                        LastIndex = index;
                        break;
                    }
                    default:
                        throw Bad(seg, r, "segment header in the middle of a segment");
                }
            }
        }

        public void Finish(string lastPath)
        {
            int after = Entries.FindIndex(e => e.Index > Marker.Index);
            if (after >= 0 ? Entries[after].Index != Marker.Index + 1 : LastIndex != Marker.Index)
                throw new WalCorruptException(lastPath, 0,
                    $"entries between snapshot {Marker.Index} and {(after >= 0 ? Entries[after].Index : LastIndex + 1)} are missing (released segment?)");
        }

        private static WalCorruptException Bad(Segment seg, WalScannedRecord r, string reason) => new(seg.Path, r.Offset, reason);
    }
}
