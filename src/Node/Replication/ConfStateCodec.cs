using System.Buffers.Binary;
using Cairn.Raft;

namespace Cairn.Node.Replication;

/// <summary>Encodes a <see cref="ConfState"/> as a snapshot file's metadata: [voters][learners], each a count then ids, big-endian.</summary>
internal static class ConfStateCodec
{
    public static byte[] Encode(ConfState state)
    {
        var bytes = new byte[8 + 8 * (state.Voters.Count + state.Learners.Count)];
        var span = bytes.AsSpan();
        BinaryPrimitives.WriteInt32BigEndian(span, state.Voters.Count);
        BinaryPrimitives.WriteInt32BigEndian(span[4..], state.Learners.Count);
        var offset = 8;
        foreach (var id in state.Voters.Concat(state.Learners))
        {
            BinaryPrimitives.WriteUInt64BigEndian(span[offset..], id);
            offset += 8;
        }

        return bytes;
    }

    public static ConfState Decode(ReadOnlySpan<byte> data)
    {
        if (data.Length < 8)
            throw new InvalidDataException("snapshot metadata too short for a configuration");
        var voters = BinaryPrimitives.ReadInt32BigEndian(data);
        var learners = BinaryPrimitives.ReadInt32BigEndian(data[4..]);
        if (voters < 0 || learners < 0 || data.Length != 8 + 8L * (voters + learners))
            throw new InvalidDataException("snapshot metadata has a malformed configuration");
        var ids = new ulong[voters + learners];
        for (var i = 0; i < ids.Length; i++)
            ids[i] = BinaryPrimitives.ReadUInt64BigEndian(data[(8 + 8 * i)..]);
        return new ConfState(ids[..voters], ids[voters..]);
    }
}
