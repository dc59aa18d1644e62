using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Cairn.Mvcc;
using Cairn.Node.Auth;
using Cairnpb;
using Google.Protobuf;
using Etcdserverpb;

namespace Cairn.Node;

/// <summary>
/// The member's replicated state as one byte string — what a Raft snapshot carries:
/// <code>
/// "CAIRNST2" | applied index u64 | members: len i32 + MemberListResponse | leases: count i32 + (id i64, ttl i64)* | auth: len i32 + AuthSnapshot | MVCC snapshot (to the end)
/// </code>
/// "CAIRNST1" snapshots (before auth) have no auth part and are still read, with an empty auth store.
/// Big-endian. The MVCC part has its own checksum; the snapshot file around all of it has another.
/// </summary>
internal static class StateSnapshot
{
    private static ReadOnlySpan<byte> Magic => "CAIRNST2"u8;
    private static ReadOnlySpan<byte> MagicWithoutAuth => "CAIRNST1"u8;

    /// <summary>The state as one array (a backup file, a restored data dir's first snapshot).</summary>
    public static byte[] Write(ulong applied, ClusterMembers members, Lessor lessor, KvStore store, AuthStore auth)
    {
        using var output = new MemoryStream();
        Write(output, applied, members, lessor, store, auth);
        return output.ToArray();
    }

    /// <summary>Writes the state to <paramref name="output"/> (the consensus's snapshots go straight into their file).</summary>
    public static void Write(Stream output, ulong applied, ClusterMembers members, Lessor lessor, KvStore store, AuthStore auth)
    {
        Span<byte> buffer = stackalloc byte[16];
        output.Write(Magic);
        BinaryPrimitives.WriteUInt64BigEndian(buffer, applied);
        output.Write(buffer[..8]);
        var list = members.Serialize();
        BinaryPrimitives.WriteInt32BigEndian(buffer, list.Length);
        output.Write(buffer[..4]);
        output.Write(list);
        var leases = lessor.Snapshot();
        BinaryPrimitives.WriteInt32BigEndian(buffer, leases.Count);
        output.Write(buffer[..4]);
        foreach (var (id, ttl) in leases)
        {
            BinaryPrimitives.WriteInt64BigEndian(buffer, id);
            BinaryPrimitives.WriteInt64BigEndian(buffer[8..], ttl);
            output.Write(buffer);
        }

        var authState = auth.Snapshot().ToByteArray();
        BinaryPrimitives.WriteInt32BigEndian(buffer, authState.Length);
        output.Write(buffer[..4]);
        output.Write(authState);
        store.WriteSnapshot(output);
    }

    /// <summary>Restores members, leases, auth and the store; returns the applied index the state reflects.</summary>
    public static ulong Read(ReadOnlyMemory<byte> data, ClusterMembers members, Lessor lessor, KvStore store, AuthStore auth)
    {
        var span = data.Span;
        if (span.Length < 24 || !(span[..8].SequenceEqual(Magic) || span[..8].SequenceEqual(MagicWithoutAuth)))
            throw new InvalidDataException("not a Cairn state snapshot");
        var hasAuth = span[..8].SequenceEqual(Magic);
        var applied = BinaryPrimitives.ReadUInt64BigEndian(span[8..]);
        var listLength = BinaryPrimitives.ReadInt32BigEndian(span[16..]);
        var offset = 20;
        if (listLength < 0 || offset + listLength + 4 > span.Length)
            throw new InvalidDataException("state snapshot: member list out of bounds");
        var list = MemberListResponse.Parser.ParseFrom(span.Slice(offset, listLength));
        offset += listLength;
        var count = BinaryPrimitives.ReadInt32BigEndian(span[offset..]);
        offset += 4;
        if (count < 0 || offset + 16L * count > span.Length)
            throw new InvalidDataException("state snapshot: leases out of bounds");
        var leases = new List<(long, long)>(count);
        for (var i = 0; i < count; i++, offset += 16)
            leases.Add((BinaryPrimitives.ReadInt64BigEndian(span[offset..]), BinaryPrimitives.ReadInt64BigEndian(span[(offset + 8)..])));
        var authState = new AuthSnapshot();
        if (hasAuth)
        {
            var authLength = offset + 4 <= span.Length ? BinaryPrimitives.ReadInt32BigEndian(span[offset..]) : -1;
            offset += 4;
            if (authLength < 0 || offset + authLength > span.Length)
                throw new InvalidDataException("state snapshot: auth state out of bounds");
            authState = AuthSnapshot.Parser.ParseFrom(span.Slice(offset, authLength));
            offset += authLength;
        }

        // Parse the store first: if it is corrupt, nothing has changed yet.
        // Read the store in place when the data is an array (it always is here): a copy would be
        // one more snapshot-sized large-object allocation per restore.
        using var kv = MemoryMarshal.TryGetArray(data[offset..], out var segment)
            ? new MemoryStream(segment.Array!, segment.Offset, segment.Count, writable: false)
            : new MemoryStream(data[offset..].ToArray(), writable: false);
        store.Restore(kv);
        members.Restore(list);
        lessor.Restore(leases);
        auth.Restore(authState);
        return applied;
    }
}
