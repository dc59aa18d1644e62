using System.Buffers;
using System.Net;
using Google.Protobuf;

namespace Cairn.Grpc.Client;

/// <summary>
/// The request body of a duplex call: the HTTP handler hands us the request stream, and each
/// <see cref="WriteAsync"/> puts one frame on it and flushes, so messages leave as they are
/// written. The body ends (END_STREAM) when <see cref="Complete"/> is called.
/// </summary>
internal sealed class StreamingRequestContent : HttpContent
{
    private readonly TaskCompletionSource<Stream> _stream = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _completed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public StreamingRequestContent() => Headers.TryAddWithoutValidation("Content-Type", GrpcProtocol.ContentType);

    /// <summary>True after <see cref="Complete"/>: the caller half-closed the request stream.</summary>
    public bool IsCompleted => _completed.Task.IsCompletedSuccessfully;

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        if (!_stream.TrySetResult(stream))
        {
            throw new InvalidOperationException("A streaming request body cannot be sent twice.");
        }
        // SocketsHttpHandler holds back the HEADERS frame of a request with a body until the body
        // first flushes; a stream that writes nothing at first (or only reads) would never start.
        await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
        using (cancellationToken.UnsafeRegister(static s => ((TaskCompletionSource)s!).TrySetCanceled(), _completed))
        {
            // Returning ends the request body; until then the stream stays open for WriteAsync.
            await _completed.Task.ConfigureAwait(false);
        }
    }

    protected override bool TryComputeLength(out long length)
    {
        length = -1;
        return false;
    }

    /// <summary>Writes and flushes one frame. One write at a time.</summary>
    public async Task WriteAsync(IMessage message, CancellationToken cancellationToken)
    {
        var stream = await _stream.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        if (_completed.Task.IsCompletedSuccessfully)
        {
            throw new InvalidOperationException("The request stream is complete; no more messages can be written.");
        }
        if (_completed.Task.IsCompleted)
        {
            // Not half-closed by the caller: HttpClient cancelled the body (the connection or the HTTP/2 stream
            // ended first). That is a failed call, reported as one (the caller maps it to a status), not misuse.
            throw new IOException("The request stream was ended by the transport before this message could be written.");
        }
        var size = message.CalculateSize();
        var length = GrpcFrame.HeaderSize + size;
        var buffer = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            GrpcFrame.WriteHeader(buffer, size);
            message.WriteTo(buffer.AsSpan(GrpcFrame.HeaderSize, size));
            await stream.WriteAsync(buffer.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
            await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Ends the request body (half-close).</summary>
    public void Complete() => _completed.TrySetResult();

    /// <summary>
    /// Fails pending and future writes (the call is over). The body ends with an error rather than
    /// END_STREAM, so the handler resets the stream instead of half-closing it: a server must see a
    /// cancelled call, not a client that finished sending.
    /// </summary>
    public void Fail(Exception error)
    {
        _stream.TrySetException(error);
        _completed.TrySetException(error);
    }
}
