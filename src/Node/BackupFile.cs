using System.Buffers.Binary;
using System.Security.Cryptography;
using Cairn.Mvcc;
using Cairn.Node.Auth;

namespace Cairn.Node;

/// <summary>
/// The bytes Maintenance.Snapshot streams, which <c>etcdctl snapshot save</c> writes to its file:
/// <code>
/// "CAIRNBK1" | state length u64 (big-endian) | state snapshot | zero padding to 512·n | SHA-256 of all before it
/// </code>
/// The state snapshot is the member's whole replicated state as of one applied index
/// (<see cref="StateSnapshot"/>: members, leases, auth, MVCC store), as etcd's file is its whole bolt
/// database. etcd streams its bolt file (whose size is a multiple of the page size) followed by its
/// SHA-256, and etcdctl 3.4 refuses to save a stream whose size is not 512·n + 32 ("sha256 checksum
/// not found"); restore checks the digest, as etcd's restore does.
/// </summary>
/// <remarks>
/// Files saved before the state was included hold only the MVCC snapshot (starting with its own
/// magic, <c>"CAIRNKV\0"</c>) where the header is now; they are still read, as a store without
/// leases or auth.
/// </remarks>
internal static class BackupFile
{
    private const int Sector = 512;
    private const int DigestSize = 32;
    private const int HeaderSize = 16;

    private static ReadOnlySpan<byte> Magic => "CAIRNBK1"u8;

    /// <summary>The saved-file format around a state snapshot (<see cref="Replication.IStateMachine.WriteSnapshot"/>).</summary>
    public static byte[] Write(ReadOnlySpan<byte> state)
    {
        var padded = (HeaderSize + (long)state.Length + Sector - 1) / Sector * Sector;
        var bytes = new byte[padded + DigestSize];
        Magic.CopyTo(bytes);
        BinaryPrimitives.WriteUInt64BigEndian(bytes.AsSpan(Magic.Length), (ulong)state.Length);
        state.CopyTo(bytes.AsSpan(HeaderSize));
        SHA256.HashData(bytes.AsSpan(0, (int)padded), bytes.AsSpan((int)padded));
        return bytes;
    }

    /// <summary>
    /// Checks the digest and reads the saved state into the given parts (a store-only file leaves
    /// <paramref name="members"/>, <paramref name="lessor"/> and <paramref name="auth"/> empty);
    /// throws <see cref="InvalidDataException"/> when a check fails.
    /// </summary>
    public static void Read(byte[] file, ClusterMembers members, Lessor lessor, KvStore store, AuthStore auth)
    {
        if (file.Length < DigestSize || (file.Length - DigestSize) % Sector != 0)
            throw new InvalidDataException($"not a saved snapshot: sha256 checksum not found [bytes: {file.Length}]");
        var bodyLength = file.Length - DigestSize;
        var expected = file.AsSpan(bodyLength);
        var actual = SHA256.HashData(file.AsSpan(0, bodyLength));
        if (!actual.AsSpan().SequenceEqual(expected))
            throw new InvalidDataException($"snapshot file integrity check failed: sha256 checksum {Convert.ToHexStringLower(expected)}, computed {Convert.ToHexStringLower(actual)}");

        if (bodyLength < HeaderSize || !file.AsSpan(0, Magic.Length).SequenceEqual(Magic))
        {
            // The older store-only file; KvStore checks its own magic and checksum.
            using var input = new MemoryStream(file, 0, bodyLength, writable: false);
            store.Restore(input);
            return;
        }

        var length = BinaryPrimitives.ReadUInt64BigEndian(file.AsSpan(Magic.Length));
        if (length > (ulong)(bodyLength - HeaderSize))
            throw new InvalidDataException($"saved snapshot: state length {length} exceeds the file");
        StateSnapshot.Read(file.AsMemory(HeaderSize, (int)length), members, lessor, store, auth);
    }
}
