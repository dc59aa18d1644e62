using Cairn.Watch.Tests.Infra;
using Mvccpb;

namespace Cairn.Watch.Tests;

/// <summary>Memory measurements must not share the process with other running tests.</summary>
[CollectionDefinition("memory", DisableParallelization = true)]
public class MemoryCollection;

/// <summary>Idle watchers are cheap (target: at most 1 KiB each).</summary>
[Collection("memory")]
public class MemoryTests
{
    private sealed class NullSink : WatchSink
    {
        internal override bool TrySend(in WatchItem item) => true;
        internal override void SendProgressAll(long revision) { }
    }

    [Fact]
    public void An_idle_watcher_costs_well_under_one_kibibyte()
    {
        using var s = TestStore.Create(real: false);
        var sink = new NullSink();
        const int N = 20_000;
        var keep = new Watcher[N];
        long before = GC.GetTotalMemory(true);
        for (int i = 0; i < N; i++)
        {
            var key = System.Text.Encoding.ASCII.GetBytes($"/registry/pods/ns{i % 50}/pod-{i}");
            byte[]? end = i % 4 == 0 ? [.. key, 0xff] : null;
            keep[i] = new Watcher(i, key, end, s.Revision + 1, WatchFlags.PrevKv, sink);
            s.Watchable.Add(keep[i]);
        }
        long after = GC.GetTotalMemory(true);
        double perWatcher = (after - before) / (double)N;
        Assert.Equal(N, s.Watchable.SyncedCount);
        Console.WriteLine($"idle watcher: {perWatcher:F0} bytes (store side, incl. its key)");
        Assert.True(perWatcher < 512, $"{perWatcher:F0} bytes per idle watcher");
        // And a write to one key costs only its matching watchers.
        s.Put("/registry/pods/ns1/pod-1", "x");
        foreach (var w in keep) s.Watchable.Remove(w);
        Assert.Equal(0, s.Watchable.SyncedCount);
        GC.KeepAlive(keep);
    }

    [Fact]
    public async Task An_idle_watch_on_a_stream_costs_under_one_kibibyte_in_all()
    {
        using var s = TestStore.Create();
        const int N = 10_000;
        var requests = System.Threading.Channels.Channel.CreateUnbounded<Etcdserverpb.WatchRequest>();
        int created = 0;
        using var cts = new CancellationTokenSource();
        var stream = new WatchStream(s.Watchable);
        long before = GC.GetTotalMemory(true);
        var run = stream.RunAsync(requests.Reader.ReadAllAsync(), (r, ct) =>
        {
            if (r.Created) Interlocked.Increment(ref created);
            return ValueTask.CompletedTask;
        }, cts.Token);
        for (int i = 0; i < N; i++)
        {
            requests.Writer.TryWrite(new Etcdserverpb.WatchRequest
            {
                CreateRequest = new Etcdserverpb.WatchCreateRequest
                {
                    Key = Google.Protobuf.ByteString.CopyFromUtf8($"/registry/pods/ns{i % 50}/pod-{i}"),
                    ProgressNotify = i % 2 == 0,
                    PrevKv = i % 3 == 0,
                },
            });
        }
        while (Volatile.Read(ref created) < N) await Task.Delay(10);
        long after = GC.GetTotalMemory(true);
        double perWatch = (after - before) / (double)N;
        Console.WriteLine($"idle watch on a stream: {perWatch:F0} bytes (store + stream)");
        Assert.Equal(N, stream.WatcherCount);
        Assert.True(perWatch < 1024, $"{perWatch:F0} bytes per idle watch");
        cts.Cancel();
        await run;
        Assert.Equal(0, s.Watchable.SyncedCount);
    }
}
