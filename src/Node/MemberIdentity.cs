using System.Text;

namespace Cairn.Node;

/// <summary>
/// Member and cluster ids derived the way etcd derives them for a new cluster: a member id is
/// the first 8 bytes of SHA-1 over its sorted peer URLs and the cluster token; the cluster id
/// is the same over the sorted member ids. Every member computes the same ids from the same
/// --initial-cluster, with no coordination.
/// </summary>
public static class MemberIdentity
{
    /// <summary>The id of the member with these peer URLs in the cluster with this token.</summary>
    public static ulong MemberId(IEnumerable<Uri> peerUrls, string clusterToken)
    {
        var text = string.Concat(peerUrls.Select(u => u.ToString().TrimEnd('/')).Order(StringComparer.Ordinal)) + clusterToken;
        return First8(Encoding.UTF8.GetBytes(text));
    }

    /// <summary>The id of the cluster made of these members.</summary>
    public static ulong ClusterId(IEnumerable<ulong> memberIds)
    {
        var ids = memberIds.Order().ToArray();
        var bytes = new byte[ids.Length * 8];
        for (var i = 0; i < ids.Length; i++)
            System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(bytes.AsSpan(i * 8), ids[i]);
        return First8(bytes);
    }

    private static ulong First8(byte[] data) =>
        System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(Sha1.HashData(data));
}
