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

    /// <summary>
    /// Frames the message into the response body; with <paramref name="flush"/> false it stays
    /// buffered until a later flushing write or <see cref="FlushAsync"/> (the caller must flush:
    /// one flush after a burst of messages costs one socket write instead of one per message).
    /// Writers that cannot buffer flush anyway.
    /// </summary>
    Task WriteAsync(T message, bool flush, CancellationToken cancellationToken = default) => WriteAsync(message, cancellationToken);

    /// <summary>Sends what earlier unflushed writes buffered. Same exceptions as <see cref="WriteAsync(T, CancellationToken)"/>.</summary>
    Task FlushAsync(CancellationToken cancellationToken = default) => Task.CompletedTask;
}
