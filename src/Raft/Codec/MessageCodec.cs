using System.Buffers;

namespace Cairn.Raft;

/// <summary>
/// Compact binary encoding of a <see cref="Message"/> for the peer transport. Layout (varints are LEB128):
/// <code>
/// version(1)=1 | type(1) | to | from | term | logTerm | index | commit | rejectHint | flags(1: bit0 reject, bit1 snapshot)
/// | entryCount | entryCount × (index | term | entryType(1) | len + data)
/// | len + context
/// | [snapshot: index | term | voterCount × id | learnerCount × id | len + data]
/// </code>
/// Decoding validates everything the core relies on (known non-local type, consecutive entry indexes in
/// appends, a snapshot exactly on snapshot messages, no trailing bytes) and throws
/// <see cref="MessageFormatException"/> on anything else. A snapshot travels whole: splitting a large
/// snapshot into chunks and reassembling it is the transport's job.
/// </summary>
public static class MessageCodec
{
    private const byte Version = 1;
    private const byte FlagReject = 1;
    private const byte FlagSnapshot = 2;

    /// <summary>True for message types that only ever exist inside one member and cannot be encoded.</summary>
    /// <param name="type">The type to test.</param>
    public static bool IsLocal(MessageType type) => type is MessageType.Hup or MessageType.Beat or MessageType.Unreachable
        or MessageType.SnapshotStatus or MessageType.CheckQuorum;

    /// <summary>Appends the encoding of <paramref name="message"/> to <paramref name="output"/>.</summary>
    /// <param name="message">A non-local message.</param>
    /// <param name="output">Where to write.</param>
    public static void Encode(Message message, IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (IsLocal(message.Type) || message.Type > MessageType.ReadIndexResponse)
            throw new ArgumentException($"message type {message.Type} cannot be sent over the network", nameof(message));
        var w = new WireWriter(output);
        w.Byte(Version);
        w.Byte((byte)message.Type);
        w.Varint(message.To);
        w.Varint(message.From);
        w.Varint(message.Term);
        w.Varint(message.LogTerm);
        w.Varint(message.Index);
        w.Varint(message.Commit);
        w.Varint(message.RejectHint);
        w.Byte((byte)((message.Reject ? FlagReject : 0) | (message.Snapshot is null ? 0 : FlagSnapshot)));
        w.Varint((ulong)message.Entries.Length);
        foreach (var e in message.Entries)
        {
            w.Varint(e.Index);
            w.Varint(e.Term);
            w.Byte((byte)e.Type);
            w.Bytes(e.Data.Span);
        }
        w.Bytes(message.Context.Span);
        if (message.Snapshot is { } s)
        {
            w.Varint(s.Metadata.Index);
            w.Varint(s.Metadata.Term);
            w.Varint((ulong)s.Metadata.ConfState.Voters.Count);
            foreach (var id in s.Metadata.ConfState.Voters) w.Varint(id);
            w.Varint((ulong)s.Metadata.ConfState.Learners.Count);
            foreach (var id in s.Metadata.ConfState.Learners) w.Varint(id);
            w.Bytes(s.Data.Span);
        }
    }

    /// <summary>Encodes <paramref name="message"/> into a new array.</summary>
    /// <param name="message">A non-local message.</param>
    public static byte[] Encode(Message message)
    {
        var buffer = new ArrayBufferWriter<byte>(64);
        Encode(message, buffer);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>
    /// Decodes one message occupying all of <paramref name="data"/>. The input is copied once; entry data,
    /// context and snapshot data are slices of that private copy, so the caller may reuse its buffer.
    /// </summary>
    /// <param name="data">Bytes produced by <see cref="Encode(Message)"/>.</param>
    /// <exception cref="MessageFormatException">The bytes are not a valid message.</exception>
    public static Message Decode(ReadOnlySpan<byte> data)
    {
        var r = new WireReader(data.ToArray());
        if (r.Byte() != Version) throw new MessageFormatException("unknown message version");
        var typeByte = r.Byte();
        if (typeByte > (byte)MessageType.ReadIndexResponse || IsLocal((MessageType)typeByte))
            throw new MessageFormatException($"message type {typeByte} is not a network message");
        var m = new Message
        {
            Type = (MessageType)typeByte,
            To = r.Varint(),
            From = r.Varint(),
            Term = r.Varint(),
            LogTerm = r.Varint(),
            Index = r.Varint(),
            Commit = r.Varint(),
            RejectHint = r.Varint(),
        };
        var flags = r.Byte();
        if ((flags & ~(FlagReject | FlagSnapshot)) != 0) throw new MessageFormatException("unknown flags");
        m.Reject = (flags & FlagReject) != 0;
        var count = r.Count(minItemBytes: 4);
        if (count > 0)
        {
            var entries = new Entry[count];
            for (var i = 0; i < count; i++)
            {
                var index = r.Varint();
                var term = r.Varint();
                var type = r.Byte();
                if (type > (byte)EntryType.ConfChange) throw new MessageFormatException($"unknown entry type {type}");
                entries[i] = new Entry(index, term, (EntryType)type, r.Bytes());
            }
            m.Entries = entries;
        }
        m.Context = r.Bytes();
        if ((flags & FlagSnapshot) != 0)
        {
            var index = r.Varint();
            var term = r.Varint();
            var voters = ReadIds(ref r);
            var learners = ReadIds(ref r);
            var snapData = r.Bytes();
            ConfState cs;
            try { cs = new ConfState(voters, learners); }
            catch (ArgumentException e) { throw new MessageFormatException("invalid snapshot configuration: " + e.Message); }
            m.Snapshot = new Snapshot(new SnapshotMetadata(index, term, cs), snapData);
        }
        if (r.Remaining != 0) throw new MessageFormatException("trailing bytes after message");
        Validate(m);
        return m;
    }

    private static ulong[] ReadIds(ref WireReader r)
    {
        var n = r.Count(minItemBytes: 1);
        var ids = new ulong[n];
        for (var i = 0; i < n; i++)
        {
            ids[i] = r.Varint();
            if (i > 0 && ids[i] <= ids[i - 1]) throw new MessageFormatException("member ids not strictly ascending");
        }
        return ids;
    }

    private static void Validate(Message m)
    {
        if (m.Term == 0 && m.Type != MessageType.Propose && m.Type != MessageType.ReadIndex && m.Type != MessageType.TransferLeader)
            throw new MessageFormatException($"{m.Type} without a term");
        if ((m.Type == MessageType.Snapshot) != (m.Snapshot is not null))
            throw new MessageFormatException("snapshot present on the wrong message type");
        if (m.Snapshot is { IsEmpty: true }) throw new MessageFormatException("empty snapshot");
        if (m.Type == MessageType.Append)
        {
            for (var i = 0; i < m.Entries.Length; i++)
            {
                if (m.Entries[i].Index != m.Index + 1 + (ulong)i) throw new MessageFormatException("append entries are not consecutive after Index");
                if (m.Entries[i].Term > m.Term) throw new MessageFormatException("append entry from a future term");
                if (i > 0 && m.Entries[i].Term < m.Entries[i - 1].Term) throw new MessageFormatException("append entry terms decrease");
            }
            if (m.Entries.Length > 0 && m.Entries[0].Term < m.LogTerm) throw new MessageFormatException("append entry older than its predecessor");
        }
        else if (m.Type != MessageType.Propose && m.Entries.Length > 0)
        {
            throw new MessageFormatException($"{m.Type} carries entries");
        }
    }
}
