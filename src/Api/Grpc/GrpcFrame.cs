using System.Buffers;
using System.Buffers.Binary;
using Google.Protobuf;

namespace Cairn.Grpc;

/// <summary>
/// The 5-byte length prefix of every gRPC message (1 byte compressed flag, 4 bytes big-endian
/// length) and writing a whole frame into a buffer writer. Server and client both frame with this.
/// </summary>
internal static class GrpcFrame
{
    /// <summary>Size of the prefix in front of every message.</summary>
    public const int HeaderSize = 5;

    /// <summary>Writes the prefix for an uncompressed message of <paramref name="length"/> bytes.</summary>
    public static void WriteHeader(Span<byte> destination, int length, bool compressed = false)
    {
        destination[0] = compressed ? (byte)1 : (byte)0;
        BinaryPrimitives.WriteUInt32BigEndian(destination[1..], (uint)length);
    }

    /// <summary>Reads the prefix at the start of <paramref name="buffer"/>, which holds at least 5 bytes.</summary>
    public static void ReadHeader(in ReadOnlySequence<byte> buffer, out byte flag, out uint length)
    {
        Span<byte> header = stackalloc byte[HeaderSize];
        buffer.Slice(0, HeaderSize).CopyTo(header);
        flag = header[0];
        length = BinaryPrimitives.ReadUInt32BigEndian(header[1..]);
    }

    /// <summary>
    /// Serializes one framed message straight into <paramref name="writer"/> (the pipe's own pooled
    /// memory): the size is known up front, so the prefix goes first and no temporary array is needed.
    /// </summary>
    /// <returns>The message size without the prefix.</returns>
    public static int Write(IBufferWriter<byte> writer, IMessage message)
    {
        var size = message.CalculateSize();
        WriteHeader(writer.GetSpan(HeaderSize), size);
        writer.Advance(HeaderSize);
        if (size > 0)
        {
            message.WriteTo(writer);
        }
        return size;
    }
}
