using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using Cairn.Protocol;
using Google.Protobuf;

namespace Cairn.Grpc.Client;

/// <summary>
/// The receiving side of a streaming call. Reads are not thread-safe: one reader at a time.
/// Disposing before the end cancels the call (the server sees the stream reset).
/// </summary>
/// <typeparam name="TResponse">The response message type.</typeparam>
public class ServerStreamingCall<TResponse> : IAsyncEnumerable<TResponse>, IDisposable, IAsyncDisposable
    where TResponse : class, IMessage<TResponse>
{
    private TResponse? _current;

    internal ServerStreamingCall(GrpcClientCall<TResponse> core) => Core = core;

    internal GrpcClientCall<TResponse> Core { get; }

    /// <summary>The message read by the last successful <see cref="MoveNextAsync"/>.</summary>
    public TResponse Current => _current ?? throw new InvalidOperationException("No message has been read.");

    /// <summary>The final status once the call has ended (OK, or the error that ended it).</summary>
    public StatusCode? Status => Core.Status;

    /// <summary>The final status message once the call has ended.</summary>
    public string? StatusMessage => Core.StatusMessage;

    /// <summary>The response trailers once the call has ended normally.</summary>
    public HttpResponseHeaders? Trailers => Core.Trailers;

    /// <summary>All responses, ending when the call ends with OK; a non-OK status is thrown as <see cref="RpcException"/>.</summary>
    public IAsyncEnumerable<TResponse> Responses => this;

    /// <summary>The response headers, once the server sends them.</summary>
    public Task<HttpResponseHeaders> ResponseHeadersAsync() => Core.GetResponseHeadersAsync();

    /// <summary>
    /// Waits for the next response: true with <see cref="Current"/> set, false when the call ended
    /// with OK; throws <see cref="RpcException"/> otherwise. Cancelling the token cancels the call.
    /// </summary>
    public async ValueTask<bool> MoveNextAsync(CancellationToken cancellationToken = default)
    {
        var message = await Core.ReadAsync(cancellationToken).ConfigureAwait(false);
        _current = message;
        return message != null;
    }

    /// <inheritdoc />
    public async IAsyncEnumerator<TResponse> GetAsyncEnumerator(CancellationToken cancellationToken = default)
    {
        while (await MoveNextAsync(cancellationToken).ConfigureAwait(false))
        {
            yield return Current;
        }
    }

    /// <summary>Cancels the call if it is still running and releases it.</summary>
    public void Dispose()
    {
        Core.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }
}
