using Google.Protobuf;

namespace Cairn.Grpc;

/// <summary>
/// Sends response messages on a streaming call. Meant for one writer at a time: await each write
/// before the next (a channel drained by one task is the usual shape when several producers feed
/// one stream). Overlapping calls are not unsafe — an internal lock serializes them, so frames
/// never interleave — but their order relative to each other is then unspecified.
/// </summary>
/// <typeparam name="T">The response message type.</typeparam>
public interface IServerStreamWriter<in T> where T : IMessage<T>
{
    /// <summary>
    /// Frames the message into the response body and flushes it to the client. Throws
    /// <see cref="OperationCanceledException"/> when the call is over (client gone, deadline,
    /// shutdown) or <paramref name="cancellationToken"/> fires.
    /// </summary>
    Task WriteAsync(T message, CancellationToken cancellationToken = default);
}
