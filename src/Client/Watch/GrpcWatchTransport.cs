using Cairn.Grpc.Client;
using Cairn.Protocol;
using Etcdserverpb;
using Google.Protobuf;

namespace Cairn.Client;

/// <summary>Watch streams over the endpoint's gRPC channel (the same HTTP/2 connection as its unary calls).</summary>
internal sealed class GrpcWatchTransport : IWatchTransport
{
    private static readonly KeyValuePair<string, string>[] RequireLeaderHeaders = [new("hasleader", "true")];

    // A single missing key read locally: the cheapest call every etcd version and Cairn answer.
    private static readonly RangeRequest PingRequest = new() { Key = ByteString.CopyFrom(0), Serializable = true, CountOnly = true };

    public IWatchConnection Open(Endpoint endpoint, bool requireLeader) =>
        new Connection(endpoint.Channel.DuplexStreaming<WatchRequest, WatchResponse>("/etcdserverpb.Watch/Watch", WatchResponse.Parser,
            requireLeader ? RequireLeaderHeaders : null));

    public async Task<bool> PingAsync(Endpoint endpoint, TimeSpan timeout)
    {
        try
        {
            await endpoint.Channel.UnaryAsync("/etcdserverpb.KV/Range", PingRequest, RangeResponse.Parser, null, DateTime.UtcNow + timeout).ConfigureAwait(false);
            return true;
        }
        catch (RpcException e)
        {
            // An error the member itself produced still proves it is alive and answering.
            return FailureClassifier.Classify(e) == FailureKind.Final && e.Status != StatusCode.DeadlineExceeded;
        }
    }

    private sealed class Connection(DuplexStreamingCall<WatchRequest, WatchResponse> call) : IWatchConnection
    {
        public Task WriteAsync(WatchRequest request, CancellationToken cancellationToken) => call.WriteAsync(request, cancellationToken);

        public async ValueTask<WatchResponse?> ReadAsync(CancellationToken cancellationToken) =>
            await call.MoveNextAsync(cancellationToken).ConfigureAwait(false) ? call.Current : null;

        public void CompleteRequests() => _ = call.CompleteRequestAsync();

        public void Dispose() => call.Dispose();
    }
}
