using Google.Protobuf;

namespace Cairn.Node;

/// <summary>
/// The bytes of requests one member asks another over the peer transport's request connections
/// (<see cref="Cairn.Raft.Transport.PeerTransport.SendRequestAsync"/>), which carry them opaquely.
/// <code>
/// request: kind u8 | etcd request protobuf
/// answer:  status u8 | etcd response protobuf (status Ok only)
/// </code>
/// etcd 3.4 sends the same protobufs over HTTP to the leader's peer URL (/leases, /leases/internal).
/// </summary>
internal static class PeerRequestCodec
{
    /// <summary>What a request asks.</summary>
    public enum Kind : byte
    {
        /// <summary>A LeaseKeepAliveRequest: renew the lease on the leader's clock, answer its TTL.</summary>
        LeaseKeepAlive = 1,

        /// <summary>A LeaseTimeToLiveRequest: the lease's remaining TTL by the leader's clock.</summary>
        LeaseTimeToLive = 2,
    }

    /// <summary>How the receiver answered.</summary>
    public enum Status : byte
    {
        /// <summary>Answered; the response protobuf follows.</summary>
        Ok = 0,

        /// <summary>The receiver is not the leader (any more): ask the leader the asker learns next.</summary>
        NotLeader = 1,

        /// <summary>The receiver does not know the request's kind (a newer member asked an older one).</summary>
        Unsupported = 2,
    }

    /// <summary>Encodes a request.</summary>
    public static byte[] EncodeRequest(Kind kind, IMessage request) => Prefixed((byte)kind, request);

    /// <summary>Splits a request into its kind and body; false when it is empty.</summary>
    public static bool TryDecodeRequest(ReadOnlyMemory<byte> request, out Kind kind, out ReadOnlyMemory<byte> body)
    {
        kind = 0;
        body = default;
        if (request.IsEmpty)
            return false;
        kind = (Kind)request.Span[0];
        body = request[1..];
        return true;
    }

    /// <summary>Encodes an answer with the response.</summary>
    public static byte[] Answer(IMessage response) => Prefixed((byte)Status.Ok, response);

    /// <summary>Encodes an answer without a response (<see cref="Status.NotLeader"/> or <see cref="Status.Unsupported"/>).</summary>
    public static byte[] Answer(Status status) => [(byte)status];

    /// <summary>
    /// Decodes an answer: its status, and the response when the status is <see cref="Status.Ok"/>.
    /// </summary>
    /// <exception cref="InvalidDataException">The answer is empty or its response does not parse.</exception>
    public static Status DecodeAnswer<T>(ReadOnlySpan<byte> answer, MessageParser<T> parser, out T? response) where T : class, IMessage<T>
    {
        response = null;
        if (answer.IsEmpty)
            throw new InvalidDataException("empty peer answer");
        var status = (Status)answer[0];
        if (status != Status.Ok)
            return status;
        try
        {
            response = parser.ParseFrom(answer[1..]);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new InvalidDataException($"peer answer does not parse: {e.Message}", e);
        }

        return status;
    }

    private static byte[] Prefixed(byte first, IMessage message)
    {
        var bytes = new byte[1 + message.CalculateSize()];
        bytes[0] = first;
        message.WriteTo(bytes.AsSpan(1));
        return bytes;
    }
}
