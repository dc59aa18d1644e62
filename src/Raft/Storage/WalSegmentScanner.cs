namespace Cairn.Raft.Storage;

/// <summary>One good record found by <see cref="WalSegmentScanner"/>.</summary>
/// <param name="Type">Record type.</param>
/// <param name="Offset">Frame offset in the segment.</param>
/// <param name="Payload">The payload bytes (a slice of the segment buffer).</param>
internal readonly record struct WalScannedRecord(WalRecordType Type, long Offset, ReadOnlyMemory<byte> Payload);

/// <summary>Result of scanning one segment.</summary>
/// <param name="Records">Good records, in file order.</param>
/// <param name="ValidEnd">Offset just past the last good record: where appending continues.</param>
/// <param name="Torn">Non-null when the last segment ended in a torn/damaged record that must be cut off.</param>
internal sealed record WalSegmentScan(List<WalScannedRecord> Records, long ValidEnd, WalTailTruncation? Torn);

/// <summary>
/// Splits a segment into records and decides what a bad record means. The rule, in one place:
/// <list type="bullet">
/// <item>Not the last segment: it was closed (synced and truncated to its used length) before its
/// successor existed, so every byte must decode. Any bad record is corruption.</item>
/// <item>Last segment, bad record at offset X and only zeros after it: unwritten preallocated space,
/// a clean end.</item>
/// <item>Last segment, bad record at X and a good frame somewhere after X: a record that was once
/// complete has been damaged, since appends are sequential and a good frame after X was written after
/// X was. Corruption: we stop rather than drop the good records.</item>
/// <item>Last segment, bad record at X and nothing decodable after it: the tail of a write that did
/// not complete (a crash between write and sync). It is cut off at X.</item>
/// </list>
/// The resynchronising search for "a good frame after X" tries every 8-aligned offset, because a
/// damaged length field gives no reliable way to step to the next record.
/// <para>Trade-off, deliberately on the side of stopping: if the disk persisted the pages of one
/// unsynced multi-page write out of order (a later page reached the platter, an earlier one did not),
/// the tail holds a good frame after a bad one and is reported as corruption although no synced record
/// was lost. The WAL cannot tell that apart from real damage without knowing where the last completed
/// sync ended; an operator can inspect the offset and truncate by hand.</para>
/// </summary>
internal static class WalSegmentScanner
{
    /// <summary>Scans <paramref name="data"/>, the whole contents of the segment at <paramref name="path"/>.</summary>
    public static WalSegmentScan Scan(string path, ReadOnlyMemory<byte> data, bool isLast)
    {
        var records = new List<WalScannedRecord>();
        ReadOnlySpan<byte> span = data.Span;
        int off = 0;
        while (off < span.Length)
        {
            WalFrameStatus status = WalRecord.TryDecode(span[off..], out WalRecordType type, out int len, out int size);
            if (status == WalFrameStatus.Ok)
            {
                records.Add(new WalScannedRecord(type, off, data.Slice(off + WalRecord.HeaderSize, len)));
                off += size;
                continue;
            }
            if (!isLast)
                throw new WalCorruptException(path, off, $"bad record ({status}) in a segment that is not the last");
            if (status == WalFrameStatus.Zero && span[off..].IndexOfAnyExcept((byte)0) < 0)
                return new WalSegmentScan(records, off, null); // preallocated space: clean end
            int next = FindGoodFrame(span, off + WalRecord.Alignment);
            if (next >= 0)
                throw new WalCorruptException(path, off, $"bad record ({status}) followed by a valid record at offset {next}");
            return new WalSegmentScan(records, off, new WalTailTruncation(path, off, span.Length - off, status.ToString()));
        }
        return new WalSegmentScan(records, off, null);
    }

    /// <summary>First 8-aligned offset at or after <paramref name="start"/> holding a good frame, or -1.</summary>
    internal static int FindGoodFrame(ReadOnlySpan<byte> span, int start)
    {
        for (int p = start; p + WalRecord.HeaderSize <= span.Length; p += WalRecord.Alignment)
        {
            // Cheap pre-check so a long zero or garbage tail costs one load per position.
            byte t = span[p + 4];
            if (t is < (byte)WalRecordType.SegmentHeader or > (byte)WalRecordType.SnapshotMarker) continue;
            if (WalRecord.TryDecode(span[p..], out _, out _, out _) == WalFrameStatus.Ok) return p;
        }
        return -1;
    }
}
