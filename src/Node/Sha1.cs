using System.Buffers.Binary;
using System.Numerics;

namespace Cairn.Node;

/// <summary>
/// SHA-1 (FIPS 180-4) of a short input, for <see cref="MemberIdentity"/> only: etcd derives member
/// and cluster ids from SHA-1, so the ids must be SHA-1, but nothing here needs a secure hash.
/// </summary>
/// <remarks>
/// Not <c>System.Security.Cryptography.SHA1</c>: its first use loads OpenSSL (libcrypto, libssl and
/// the runtime's shim) into the member, about 6 MiB of resident memory for two hashes at startup
/// (measured, docs/performance.md "Memory"); nothing else in a member without TLS or auth needs it.
/// Inputs are a few hundred bytes, so a plain block loop is plenty.
/// </remarks>
internal static class Sha1
{
    /// <summary>The 20-byte digest of <paramref name="data"/>.</summary>
    public static byte[] HashData(ReadOnlySpan<byte> data)
    {
        uint h0 = 0x67452301, h1 = 0xEFCDAB89, h2 = 0x98BADCFE, h3 = 0x10325476, h4 = 0xC3D2E1F0;

        // Message, a 0x80 byte, zeros up to 56 mod 64, then the bit length big-endian.
        var total = (data.Length + 9 + 63) / 64 * 64;
        var message = new byte[total];
        data.CopyTo(message);
        message[data.Length] = 0x80;
        BinaryPrimitives.WriteUInt64BigEndian(message.AsSpan(total - 8), (ulong)data.Length * 8);

        Span<uint> w = stackalloc uint[80];
        for (var block = 0; block < total; block += 64)
        {
            for (var i = 0; i < 16; i++)
                w[i] = BinaryPrimitives.ReadUInt32BigEndian(message.AsSpan(block + 4 * i));
            for (var i = 16; i < 80; i++)
                w[i] = BitOperations.RotateLeft(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);

            uint a = h0, b = h1, c = h2, d = h3, e = h4;
            for (var i = 0; i < 80; i++)
            {
                uint f, k;
                if (i < 20) { f = (b & c) | (~b & d); k = 0x5A827999; }
                else if (i < 40) { f = b ^ c ^ d; k = 0x6ED9EBA1; }
                else if (i < 60) { f = (b & c) | (b & d) | (c & d); k = 0x8F1BBCDC; }
                else { f = b ^ c ^ d; k = 0xCA62C1D6; }
                var t = BitOperations.RotateLeft(a, 5) + f + e + k + w[i];
                e = d;
                d = c;
                c = BitOperations.RotateLeft(b, 30);
                b = a;
                a = t;
            }

            h0 += a;
            h1 += b;
            h2 += c;
            h3 += d;
            h4 += e;
        }

        var digest = new byte[20];
        BinaryPrimitives.WriteUInt32BigEndian(digest, h0);
        BinaryPrimitives.WriteUInt32BigEndian(digest.AsSpan(4), h1);
        BinaryPrimitives.WriteUInt32BigEndian(digest.AsSpan(8), h2);
        BinaryPrimitives.WriteUInt32BigEndian(digest.AsSpan(12), h3);
        BinaryPrimitives.WriteUInt32BigEndian(digest.AsSpan(16), h4);
        return digest;
    }
}
