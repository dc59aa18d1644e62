using System.Text;

namespace Cairn.Node.Tests;

/// <summary>The member's own SHA-1 (used for etcd-compatible member and cluster ids) matches the platform's.</summary>
public sealed class Sha1Tests
{
    [Fact]
    public void KnownVectors()
    {
        Assert.Equal("a9993e364706816aba3e25717850c26c9cd0d89d", Convert.ToHexStringLower(Sha1.HashData("abc"u8)));
        Assert.Equal("da39a3ee5e6b4b0d3255bfef95601890afd80709", Convert.ToHexStringLower(Sha1.HashData([])));
        Assert.Equal("84983e441c3bd26ebaae4aa1f95129e5e54670f1",
            Convert.ToHexStringLower(Sha1.HashData("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"u8)));
    }

    [Fact]
    public void MatchesThePlatformAtEveryLengthAroundTheBlockBoundaries()
    {
        var random = new Random(7);
        for (var length = 0; length <= 300; length++)
        {
            var data = new byte[length];
            random.NextBytes(data);
            Assert.Equal(System.Security.Cryptography.SHA1.HashData(data), Sha1.HashData(data));
        }
    }

    [Fact]
    public void MemberIdIsEtcdsDerivation()
    {
        var urls = new[] { new Uri("http://127.0.0.1:2380") };
        var expected = System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(
            System.Security.Cryptography.SHA1.HashData(Encoding.UTF8.GetBytes("http://127.0.0.1:2380" + "tok")));
        Assert.Equal(expected, MemberIdentity.MemberId(urls, "tok"));
    }
}
