using System.Buffers;

namespace Cairn.Raft;

/// <summary>Appends LEB128 varints and length-prefixed bytes to an <see cref="IBufferWriter{T}"/>.</summary>
internal ref struct WireWriter(IBufferWriter<byte> output)
{
    private readonly IBufferWriter<byte> _output = output;

    public void Byte(byte b)
    {
        var span = _output.GetSpan(1);
        span[0] = b;
        _output.Advance(1);
    }

    public void Varint(ulong v)
    {
        var span = _output.GetSpan(10);
        var n = 0;
        while (v >= 0x80)
        {
            span[n++] = (byte)(v | 0x80);
            v >>= 7;
        }
        span[n++] = (byte)v;
        _output.Advance(n);
    }

    public void Bytes(ReadOnlySpan<byte> data)
    {
        Varint((ulong)data.Length);
        if (data.Length == 0) return;
        var span = _output.GetSpan(data.Length);
        data.CopyTo(span);
        _output.Advance(data.Length);
    }
}
