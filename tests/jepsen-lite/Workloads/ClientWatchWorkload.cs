using Cairn.Client;
using Cairn.JepsenLite.Cluster;
using Cairn.JepsenLite.History;
using Cairn.Protocol;
using HOp = Cairn.JepsenLite.History.Op;

namespace Cairn.JepsenLite.Workloads;

/// <summary>
/// Watchers that go through the C# client (<c>src/Client</c>'s <see cref="EtcdClient"/>) instead of raw Watch streams:
/// each client knows every member's proxied client URL (its own member first), so when that member is killed, paused
/// or cut off the client itself resumes the watch on another member from the last delivered revision + 1. The history
/// sees one logical session per watch: every batch the client delivers (events, progress notifications, the created
/// notification) with the member whose stream carried it, plus the client's own log lines (stream opened / broke).
/// </summary>
public sealed class ClientWatchWorkload(TestCluster cluster, Recorder rec, Func<int> nextProcess)
{
    /// <summary>
    /// The members' <c>--experimental-watch-progress-notify-interval</c>: periodic per-watch progress notifications are
    /// what the client delivers as bookmarks (it uses stream-wide progress replies only as liveness), so they must come
    /// often enough to be seen in a 30 s scenario.
    /// </summary>
    public static readonly TimeSpan ProgressNotifyInterval = TimeSpan.FromSeconds(1);

    /// <summary>A stalling consumer's queue (batches) and its rhythm: long enough behind a compaction to be compacted away.</summary>
    public const int StallingQueueCapacity = 8;

    /// <summary>How long a stalling consumer stops reading.</summary>
    public static readonly TimeSpan StallFor = TimeSpan.FromSeconds(3);

    /// <summary>How long a stalling consumer reads between stalls.</summary>
    public static readonly TimeSpan StallEvery = TimeSpan.FromSeconds(3);

    /// <summary>
    /// Watches <c>k..l</c> (prev_kv, progress notify) through a client whose endpoints are every member starting with
    /// <paramref name="member"/>; from revision 1 or, when <paramref name="fromStart"/> is false, from "now" (the created
    /// notification's header revision + 1). Runs until <paramref name="until"/> returns a revision &gt; 0 that the watch
    /// has reached (delivered or notified), or until <paramref name="ct"/> fires. A watch ended by compaction
    /// (<see cref="WatchCompactedException"/>) is recorded as such and re-made from the compact revision.
    /// With <paramref name="stalling"/> the consumer stops reading for <see cref="StallFor"/> every <see cref="StallEvery"/>
    /// until the load ends, with a queue of <see cref="StallingQueueCapacity"/> batches: the client suspends the watch on
    /// the server and re-creates it from its cursor later, so a compaction meanwhile ends it as compacted.
    /// </summary>
    public async Task WatcherAsync(int member, bool fromStart, bool requireLeader, Func<long> until, CancellationToken ct, bool stalling = false)
    {
        int process = nextProcess();
        int n = cluster.Members.Count;
        var order = Enumerable.Range(0, n).Select(i => (member + i) % n).ToList();
        var options = new EtcdClientOptions
        {
            Endpoints = order.Select(i => cluster.Members[i].Endpoint).ToList(),
            ProgressNotifyInterval = ProgressNotifyInterval,
            // Quicker than the defaults (5 s + 3 s) so a paused member is left within a scenario's fault hold.
            WatchProbeInterval = TimeSpan.FromSeconds(2),
            WatchProbeTimeout = TimeSpan.FromSeconds(2),
            WatchQueueCapacity = stalling ? StallingQueueCapacity : 1024,
            Log = line => rec.Add(new HOp { Process = process, Type = OpType.Ok, F = Fn.ClientLog, Value = line, Member = MemberIn(line) }),
        };
        await using var client = new EtcdClient(options);
        long start = fromStart ? 1 : 0, last = 0, created = 0;
        long nextStall = Environment.TickCount64 + (long)StallEvery.TotalMilliseconds;
        while (!ct.IsCancellationRequested)
        {
            rec.Add(new HOp
            {
                Process = process, Type = OpType.Ok, F = Fn.WatchStart, Key = "k", RangeEnd = "l", StartRevision = start, PrevKv = true,
                Client = true, RequireLeader = requireLeader, Endpoints = order.Select(i => cluster.Members[i].Name).ToList(), Member = cluster.Members[member].Name,
            });
            string? error = null;
            long? compact = null, needed = null;
            var watch = new WatchOptions { StartRevision = start, PrevKv = true, ProgressNotify = true, RequireLeader = requireLeader, CreatedNotify = true };
            try
            {
                await foreach (var b in client.Watch(KeyRange.Between("k", "l"), watch, ct))
                {
                    var name = MemberIn(b.Endpoint);
                    if (b.IsCreated)
                    {
                        created = b.HeaderRevision;
                        rec.Add(new HOp { Process = process, Type = OpType.Ok, F = Fn.WatchCreated, Revision = b.HeaderRevision, Member = name });
                    }
                    else if (b.IsProgressNotify)
                    {
                        last = Math.Max(last, b.HeaderRevision);
                        rec.Add(new HOp { Process = process, Type = OpType.Ok, F = Fn.Progress, Revision = b.HeaderRevision, Member = name });
                    }
                    else
                    {
                        var evs = b.Events.Select(Workloads.Convert).ToList();
                        last = Math.Max(last, evs.Max(e => e.ModRevision));
                        rec.Add(new HOp { Process = process, Type = OpType.Ok, F = Fn.WatchEvent, Events = evs, Revision = b.HeaderRevision, Member = name });
                    }
                    if (until() is > 0 and var target && last >= target)
                    {
                        error = $"caught up with revision {target}";
                        break;
                    }
                    if (stalling && until() == 0 && Environment.TickCount64 >= nextStall)
                    {
                        await Task.Delay(StallFor, CancellationToken.None);
                        nextStall = Environment.TickCount64 + (long)StallEvery.TotalMilliseconds;
                    }
                }
                error ??= "watch ended";
            }
            catch (WatchCompactedException e)
            {
                compact = e.CompactRevision;
                needed = e.RequiredRevision;
                error = e.ToString();
            }
            catch (OperationCanceledException)
            {
                error = "cancelled";
            }
            catch (RpcException e)
            {
                error = $"{e.Status}: {e.Message}";
            }
            rec.Add(new HOp { Process = process, Type = OpType.Ok, F = Fn.WatchEnd, Error = error, CompactRevision = compact, Revision = needed });
            if (error.StartsWith("caught up", StringComparison.Ordinal))
            {
                return;
            }
            // Compacted: whatever lies below the compact revision is gone, so the next watch starts there (the checker
            // checks the ended one only up to its end). Otherwise resume right after what was delivered, as the client would.
            long through = Math.Max(last, created);
            start = compact ?? (through > 0 ? through + 1 : start);
            if (!ct.IsCancellationRequested)
            {
                await Task.Delay(200, CancellationToken.None);
            }
        }
    }

    /// <summary>The current name of the member whose proxied client URL appears in <paramref name="text"/> (a batch's endpoint or a client log line).</summary>
    private string? MemberIn(string text)
    {
        foreach (var m in cluster.Members)
        {
            if (text.Contains($":{m.ClientProxyPort}/", StringComparison.Ordinal) || text.EndsWith($":{m.ClientProxyPort}", StringComparison.Ordinal))
            {
                return m.Name;
            }
        }
        return null;
    }
}
