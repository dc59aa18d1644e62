using System.Buffers;

namespace Cairn.Raft;

/// <summary>
/// Binary encoding of a <see cref="ConfChange"/> for <see cref="Entry.Data"/>:
/// <c>version(1)=1 | type(1) | varint member id | varint length + context bytes</c>.
/// </summary>
public static class ConfChangeCodec
{
    private const byte Version = 1;

    /// <summary>Encodes <paramref name="change"/> into a new array.</summary>
    /// <param name="change">The change to encode.</param>
    public static byte[] Encode(ConfChange change)
    {
        var buffer = new ArrayBufferWriter<byte>(16 + change.Context.Length);
        var w = new WireWriter(buffer);
        w.Byte(Version);
        w.Byte((byte)change.Type);
        w.Varint(change.MemberId);
        w.Bytes(change.Context.Span);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Decodes a change; the context is copied out of <paramref name="data"/>.</summary>
    /// <param name="data">Bytes produced by <see cref="Encode"/>.</param>
    /// <exception cref="MessageFormatException">The bytes are not a valid encoding.</exception>
    public static ConfChange Decode(ReadOnlySpan<byte> data)
    {
        var r = new WireReader(data.ToArray());
        if (r.Byte() != Version) throw new MessageFormatException("unknown conf change version");
        var type = r.Byte();
        if (type > (byte)ConfChangeType.RemoveMember) throw new MessageFormatException($"unknown conf change type {type}");
        var id = r.Varint();
        if (id == 0) throw new MessageFormatException("conf change for member 0");
        var ctx = r.Bytes();
        if (r.Remaining != 0) throw new MessageFormatException("trailing bytes after conf change");
        return new ConfChange((ConfChangeType)type, id, ctx);
    }
}
