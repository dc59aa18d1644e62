using System.Security.Cryptography;
using Cairn.Mvcc;

namespace Cairn.Node;

/// <summary>
/// The bytes Maintenance.Snapshot streams, which <c>etcdctl snapshot save</c> writes to its file:
/// the store's MVCC snapshot (<see cref="KvStore.WriteSnapshot"/>, with its own CRC), zero-padded
/// to a multiple of 512 bytes, then the SHA-256 of everything before it. etcd streams its bolt file
/// (whose size is a multiple of the page size) followed by its SHA-256, and etcdctl 3.4 refuses to
/// save a stream whose size is not 512·n + 32 ("sha256 checksum not found"); restore checks the
/// digest, as etcd's restore does.
/// </summary>
internal static class BackupFile
{
    private const int Sector = 512;
    private const int DigestSize = 32;

    /// <summary>A consistent copy of the store in the saved-file format.</summary>
    public static byte[] Write(KvStore store)
    {
        using var buffer = new MemoryStream();
        store.WriteSnapshot(buffer);
        var padded = (buffer.Length + Sector - 1) / Sector * Sector;
        var bytes = new byte[padded + DigestSize];
        buffer.GetBuffer().AsSpan(0, (int)buffer.Length).CopyTo(bytes);
        SHA256.HashData(bytes.AsSpan(0, (int)padded), bytes.AsSpan((int)padded));
        return bytes;
    }

    /// <summary>Checks the digest and reads the store; throws <see cref="InvalidDataException"/> when either check fails.</summary>
    public static KvStore Read(byte[] file)
    {
        if (file.Length < DigestSize || (file.Length - DigestSize) % Sector != 0)
            throw new InvalidDataException($"not a saved snapshot: sha256 checksum not found [bytes: {file.Length}]");
        var body = file.AsSpan(0, file.Length - DigestSize);
        var expected = file.AsSpan(file.Length - DigestSize);
        var actual = SHA256.HashData(body);
        if (!actual.AsSpan().SequenceEqual(expected))
            throw new InvalidDataException($"snapshot file integrity check failed: sha256 checksum {Convert.ToHexStringLower(expected)}, computed {Convert.ToHexStringLower(actual)}");
        using var input = new MemoryStream(file, 0, body.Length, writable: false);
        return KvStore.ReadSnapshot(input);
    }
}
