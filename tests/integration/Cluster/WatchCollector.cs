using System.Collections.Concurrent;
using Cairn.Grpc.Client;
using Cairn.Protocol;
using Etcdserverpb;
using Google.Protobuf;

namespace Cairn.IntegrationTests.Cluster;

/// <summary>
/// One Watch stream with one watcher (a prefix), read in the background: every event is recorded, and how the
/// stream ended (error status and message) once it has.
/// </summary>
public sealed class WatchCollector : IAsyncDisposable
{
    private readonly DuplexStreamingCall<WatchRequest, WatchResponse> _call;
    private readonly CancellationTokenSource _cts = new();
    private readonly TaskCompletionSource<WatchResponse> _created = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task? _reader;

    private WatchCollector(DuplexStreamingCall<WatchRequest, WatchResponse> call) => _call = call;

    /// <summary>Every event delivered so far, in order.</summary>
    public ConcurrentQueue<Mvccpb.Event> Events { get; } = new();

    /// <summary>The 'created' response.</summary>
    public Task<WatchResponse> Created => _created.Task;

    /// <summary>Completes when the stream has ended (with the exception that ended it, or null for a clean end).</summary>
    public TaskCompletionSource<Exception?> Ended { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Opens a watch on <paramref name="prefix"/> from <paramref name="startRevision"/>.</summary>
    public static async Task<WatchCollector> OpenAsync(GrpcChannel channel, string prefix, long startRevision, bool requireLeader)
    {
        var headers = requireLeader ? new[] { new KeyValuePair<string, string>("hasleader", "true") } : null;
        var call = channel.DuplexStreaming<WatchRequest, WatchResponse>("/etcdserverpb.Watch/Watch", WatchResponse.Parser, headers);
        var collector = new WatchCollector(call);
        await call.WriteAsync(new WatchRequest
        {
            CreateRequest = new WatchCreateRequest
            {
                Key = ByteString.CopyFromUtf8(prefix),
                RangeEnd = ByteString.CopyFromUtf8(prefix[..^1] + (char)(prefix[^1] + 1)),
                StartRevision = startRevision,
            },
        });
        collector._reader = Task.Run(collector.ReadAsync);
        await collector.Created.WaitAsync(TimeSpan.FromSeconds(30));
        return collector;
    }

    private async Task ReadAsync()
    {
        try
        {
            while (await _call.MoveNextAsync(_cts.Token))
            {
                var response = _call.Current;
                if (response.Created)
                    _created.TrySetResult(response);
                foreach (var e in response.Events)
                    Events.Enqueue(e);
                if (response.Canceled)
                {
                    Ended.TrySetResult(new InvalidOperationException($"watch canceled: {response.CancelReason}"));
                    return;
                }
            }
            Ended.TrySetResult(_call.Status is { } s && s != StatusCode.OK ? new RpcException(s, _call.StatusMessage ?? "") : null);
        }
        catch (Exception e)
        {
            Ended.TrySetResult(e);
        }
        finally
        {
            _created.TrySetException(new InvalidOperationException("the watch stream ended before 'created'"));
        }
    }

    /// <summary>Cancels the stream.</summary>
    public async ValueTask DisposeAsync()
    {
        _cts.Cancel();
        _call.Dispose();
        if (_reader is not null)
            await Task.WhenAny(_reader, Task.Delay(5000));
    }
}
