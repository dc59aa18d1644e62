using System.Threading.Channels;
using Etcdserverpb;
using Google.Protobuf;
using Mvccpb;

namespace Cairn.Watch.Tests.Infra;

/// <summary>Runs a <see cref="WatchStream"/> with an in-memory request channel and records every response.</summary>
public sealed class StreamHarness : IAsyncDisposable
{
    private readonly Channel<WatchRequest> _requests = Channel.CreateUnbounded<WatchRequest>();
    private readonly List<WatchResponse> _responses = new();
    private readonly Dictionary<long, int> _eventCounts = new();
    private readonly SemaphoreSlim _arrived = new(0);
    private readonly CancellationTokenSource _cts = new();
    private int _concurrentSends;

    public StreamHarness(WatchableStore store, WatchStreamOptions? options = null, Func<WatchResponse, CancellationToken, ValueTask>? beforeSend = null)
    {
        Stream = new WatchStream(store, options);
        Run = Stream.RunAsync(_requests.Reader.ReadAllAsync(), async (resp, ct) =>
        {
            if (Interlocked.Increment(ref _concurrentSends) != 1) ConcurrentSendSeen = true;
            try
            {
                if (beforeSend is not null) await beforeSend(resp, ct);
                // Serialise and parse, as the wire would: catches responses that do not round-trip.
                var copy = WatchResponse.Parser.ParseFrom(resp.ToByteArray());
                lock (_responses)
                {
                    _responses.Add(copy);
                    if (copy.Events.Count > 0) _eventCounts[copy.WatchId] = _eventCounts.GetValueOrDefault(copy.WatchId) + copy.Events.Count;
                }
                _arrived.Release();
            }
            finally
            {
                Interlocked.Decrement(ref _concurrentSends);
            }
        }, _cts.Token);
    }

    public WatchStream Stream { get; }
    public Task Run { get; }
    public bool ConcurrentSendSeen { get; private set; }

    public void Send(WatchRequest req) => _requests.Writer.TryWrite(req);

    public void Create(string key, string? end = null, long startRev = 0, long watchId = 0, bool prevKv = false,
        bool progressNotify = false, bool fragment = false, bool noPut = false, bool noDelete = false)
    {
        var c = new WatchCreateRequest
        {
            Key = ByteString.CopyFromUtf8(key),
            RangeEnd = end is null ? ByteString.Empty : ByteString.CopyFromUtf8(end),
            StartRevision = startRev,
            WatchId = watchId,
            PrevKv = prevKv,
            ProgressNotify = progressNotify,
            Fragment = fragment,
        };
        if (noPut) c.Filters.Add(WatchCreateRequest.Types.FilterType.Noput);
        if (noDelete) c.Filters.Add(WatchCreateRequest.Types.FilterType.Nodelete);
        Send(new WatchRequest { CreateRequest = c });
    }

    public void Cancel(long id) => Send(new WatchRequest { CancelRequest = new WatchCancelRequest { WatchId = id } });
    public void RequestProgress() => Send(new WatchRequest { ProgressRequest = new WatchProgressRequest() });
    public void CompleteRequests() => _requests.Writer.TryComplete();

    public List<WatchResponse> Snapshot()
    {
        lock (_responses) return new List<WatchResponse>(_responses);
    }

    /// <summary>Waits for the first response (from index <paramref name="from"/>) matching; returns it.</summary>
    public async Task<WatchResponse> WaitFor(Func<WatchResponse, bool> match, int timeoutMs = 10_000, int from = 0)
    {
        var deadline = DateTime.UtcNow.AddMilliseconds(timeoutMs);
        int next = from;
        while (true)
        {
            lock (_responses)
            {
                for (; next < _responses.Count; next++)
                    if (match(_responses[next])) return _responses[next];
            }
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero) throw new TimeoutException("no matching watch response; got:\n" + string.Join("\n", Snapshot()));
            await _arrived.WaitAsync(left < TimeSpan.FromMilliseconds(50) ? left : TimeSpan.FromMilliseconds(50));
        }
    }

    public Task<WatchResponse> WaitCreated(long id) => WaitFor(r => r.Created && r.WatchId == id);

    /// <summary>Waits until <paramref name="count"/> events of watch <paramref name="id"/> have arrived.</summary>
    public async Task<List<Event>> WaitEvents(long id, int count, int timeoutMs = 20_000)
    {
        var deadline = DateTime.UtcNow.AddMilliseconds(timeoutMs);
        while (true)
        {
            int n;
            lock (_responses) n = _eventCounts.GetValueOrDefault(id);
            if (n >= count) return EventsOf(id);
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"watch {id}: {n} of {count} events");
            await _arrived.WaitAsync(50);
        }
    }

    public List<Event> EventsOf(long id)
    {
        var res = new List<Event>();
        foreach (var r in Snapshot())
            if (r.WatchId == id) res.AddRange(r.Events);
        return res;
    }

    public List<WatchResponse> ResponsesOf(long id)
    {
        var res = new List<WatchResponse>();
        foreach (var r in Snapshot())
            if (r.WatchId == id) res.Add(r);
        return res;
    }

    public async ValueTask DisposeAsync()
    {
        _cts.Cancel();
        await Run.WaitAsync(TimeSpan.FromSeconds(10));
        _cts.Dispose();
    }
}
