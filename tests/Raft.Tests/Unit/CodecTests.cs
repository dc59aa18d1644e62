namespace Cairn.Raft.Tests.Unit;

/// <summary>Message codec: round trips of every network message type, and garbage that must be rejected cleanly.</summary>
public sealed class CodecTests
{
    private static Message Sample(MessageType type, Random rng)
    {
        var m = new Message
        {
            Type = type,
            To = (ulong)rng.NextInt64(1, long.MaxValue),
            From = (ulong)rng.Next(1, 100),
            Term = (ulong)rng.Next(1, 1000),
            LogTerm = (ulong)rng.Next(0, 5),
            Index = (ulong)rng.Next(0, 100000),
            Commit = (ulong)rng.Next(0, 100000),
            Reject = rng.Next(2) == 0,
            RejectHint = (ulong)rng.Next(0, 100),
            Context = rng.Next(2) == 0 ? default : RandomBytes(rng, 16),
        };
        if (type == MessageType.Append)
        {
            var n = rng.Next(0, 5);
            m.Entries = Enumerable.Range(0, n).Select(i => new Entry(m.Index + 1 + (ulong)i, m.Term, (EntryType)rng.Next(2), RandomBytes(rng, 300))).ToArray();
            m.LogTerm = Math.Min(m.LogTerm, m.Term);
        }
        if (type == MessageType.Propose)
            m.Entries = [new Entry(0, 0, EntryType.Normal, RandomBytes(rng, 10))];
        if (type == MessageType.Snapshot)
            m.Snapshot = new Snapshot(new SnapshotMetadata(7, 3, new ConfState([1UL, 2, 3], [9UL])), RandomBytes(rng, 1000));
        return m;
    }

    private static byte[] RandomBytes(Random rng, int max)
    {
        var b = new byte[rng.Next(0, max)];
        rng.NextBytes(b);
        return b;
    }

    private static readonly MessageType[] NetworkTypes = Enum.GetValues<MessageType>().Where(t => !MessageCodec.IsLocal(t)).ToArray();

    [Fact]
    public void RoundTrip_EveryNetworkType()
    {
        var rng = new Random(5);
        foreach (var type in NetworkTypes)
        {
            for (var i = 0; i < 50; i++)
            {
                var m = Sample(type, rng);
                var d = MessageCodec.Decode(MessageCodec.Encode(m));
                Assert.Equal(m.Type, d.Type);
                Assert.Equal((m.To, m.From, m.Term, m.LogTerm, m.Index, m.Commit, m.Reject, m.RejectHint), (d.To, d.From, d.Term, d.LogTerm, d.Index, d.Commit, d.Reject, d.RejectHint));
                Assert.Equal(m.Context.ToArray(), d.Context.ToArray());
                Assert.Equal(m.Entries.Length, d.Entries.Length);
                for (var j = 0; j < m.Entries.Length; j++)
                {
                    Assert.Equal((m.Entries[j].Index, m.Entries[j].Term, m.Entries[j].Type), (d.Entries[j].Index, d.Entries[j].Term, d.Entries[j].Type));
                    Assert.Equal(m.Entries[j].Data.ToArray(), d.Entries[j].Data.ToArray());
                }
                if (m.Snapshot is { } s)
                {
                    Assert.Equal(s.Metadata.Index, d.Snapshot!.Metadata.Index);
                    Assert.Equal(s.Metadata.Term, d.Snapshot.Metadata.Term);
                    Assert.True(s.Metadata.ConfState.SameAs(d.Snapshot.Metadata.ConfState));
                    Assert.Equal(s.Data.ToArray(), d.Snapshot.Data.ToArray());
                }
            }
        }
    }

    [Fact]
    public void Encode_RefusesLocalTypes()
    {
        Assert.Throws<ArgumentException>(() => MessageCodec.Encode(new Message { Type = MessageType.Hup }));
        Assert.Throws<ArgumentException>(() => MessageCodec.Encode(new Message { Type = MessageType.SnapshotStatus }));
    }

    [Fact]
    public void Decode_GarbageIsRejectedWithFormatException_NeverCrashes()
    {
        var rng = new Random(9);
        var valid = NetworkTypes.SelectMany(t => Enumerable.Range(0, 5).Select(_ => MessageCodec.Encode(Sample(t, rng)))).ToList();
        var rejected = 0;
        for (var i = 0; i < 50000; i++)
        {
            byte[] input;
            var src = valid[rng.Next(valid.Count)];
            switch (rng.Next(4))
            {
                case 0: input = RandomBytes(rng, 64); break;
                case 1: input = src[..rng.Next(0, src.Length)]; break; // truncated
                case 2:
                    input = (byte[])src.Clone();
                    for (var k = rng.Next(1, 4); k > 0; k--) input[rng.Next(input.Length)] ^= (byte)(1 << rng.Next(8));
                    break;
                default: input = [.. src, (byte)rng.Next(256)]; break; // trailing byte
            }
            try
            {
                var m = MessageCodec.Decode(input);
                // Anything accepted must re-encode to the same bytes (the encoding is canonical)...
                Assert.Equal(input, MessageCodec.Encode(m));
            }
            catch (MessageFormatException)
            {
                rejected++;
            }
        }
        Assert.True(rejected > 40000, $"only {rejected} rejected");
    }

    [Fact]
    public void Decode_HugeCountsDoNotAllocate()
    {
        // version, type Append, to..rejectHint = 1 each, flags 0, entry count = 2^62.
        byte[] evil = [1, 3, 1, 1, 1, 0, 0, 0, 0, 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40];
        Assert.Throws<MessageFormatException>(() => MessageCodec.Decode(evil));
    }
}
