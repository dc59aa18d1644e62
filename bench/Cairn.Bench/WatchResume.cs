using System.Diagnostics;
using System.Runtime.CompilerServices;
using Cairn.Grpc.Client;
using Cairn.Protocol;
using Etcdserverpb;
using Google.Protobuf;

namespace Cairn.Bench;

/// <summary>
/// The watch-resume workload: watchers on one member, a writer putting at a steady rate through
/// another, then <c>kill -9</c> of the watched member. Each watcher resumes on the next endpoint from
/// its last delivered revision + 1 (<see cref="ResumingWatcher"/>). Per watcher it measures the time
/// from the kill to the break being seen, from the kill to the first event after the resume, and the
/// gap between the last event before and the first after; it checks that every committed revision
/// was delivered once and in order. It kills members, so it runs last; with a restart command it
/// brings the member back and repeats, without one it runs a single trial.
/// </summary>
internal static class WatchResume
{
    private const string Put = "/etcdserverpb.KV/Put";
    private static readonly TimeSpan WriteInterval = TimeSpan.FromMilliseconds(5);

    /// <summary>Runs the trials of one variant (the watched member is a follower, or the leader).</summary>
    /// <param name="t">The cluster.</param>
    /// <param name="pids">Member pids, in endpoint order; a restarted member's new pid replaces its entry.</param>
    /// <param name="restart">Restarts member N (1-based; <c>{n}</c> in the command) and prints its new pid, or null.</param>
    /// <param name="watchLeader">Watch the leader instead of a follower.</param>
    /// <param name="trials">Trials to run when members can be restarted.</param>
    /// <param name="watchers">Watchers per trial, each on its own stream, all on the watched member.</param>
    public static async Task<ResumeResult> RunAsync(Target t, int[] pids, string? restart, bool watchLeader, int trials, int watchers)
    {
        var endpoints = t.Endpoints.Count;
        // Channels[i] for i < endpoints is endpoint i: the watchers' connections. The writer and the
        // bench's own reads use the second set, so the watch streams share a connection only with
        // each other, as clientv3's watchers share one per endpoint.
        var watchChannels = t.Channels.Take(endpoints).ToArray();
        var otherChannels = t.Channels.Skip(endpoints).Take(endpoints).ToArray();
        var result = new ResumeResult(watchLeader ? "leader" : "follower", watchers);
        for (var trial = 0; trial < trials; trial++)
        {
            var leader = await LeaderAsync(otherChannels).ConfigureAwait(false);
            var watched = watchLeader ? leader : (leader + 1) % endpoints;
            // The writer always goes through a follower that survives, so both variants write the same way.
            var writer = Enumerable.Range(0, endpoints).First(i => i != watched && i != leader);
            await TrialAsync(result, watchChannels, otherChannels[writer], pids[watched], watched, watchers).ConfigureAwait(false);
            if (restart is null)
                break;
            pids[watched] = await RestartAsync(restart, watched, otherChannels[watched]).ConfigureAwait(false);
        }

        return result;
    }

    private static async Task TrialAsync(ResumeResult result, GrpcChannel[] watchChannels, GrpcChannel writerChannel, int pid, int watched, int count)
    {
        var prefix = ByteString.CopyFromUtf8($"resume{Environment.TickCount64}/");
        var end = Workloads.PrefixEnd(prefix);
        var head = await writerChannel.UnaryAsync("/etcdserverpb.KV/Range", new RangeRequest { Key = prefix, RangeEnd = end, CountOnly = true }, RangeResponse.Parser)
            .ConfigureAwait(false);
        using var stopWatchers = new CancellationTokenSource();
        var watchers = Enumerable.Range(0, count)
            .Select(_ => new ResumingWatcher(watchChannels, watched, prefix, end, head.Header.Revision + 1)).ToList();
        var readers = watchers.Select(w => Task.Run(() => w.RunAsync(stopWatchers.Token))).ToList();
        await Task.WhenAll(watchers.Select(w => w.Created)).WaitAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false);

        using var stopWriter = new CancellationTokenSource();
        var acked = new StrongBox<long>();
        var writerTask = Task.Run(() => WriteAsync(writerChannel, prefix, result, acked, stopWriter.Token));
        // Let the watchers settle into the steady stream before the kill.
        await WaitUntil(() => watchers.All(w => w.Delivered >= 100), TimeSpan.FromSeconds(10)).ConfigureAwait(false);

        // Events up to the last acknowledged put were committed before the kill; a watcher that
        // resumes can get those first (a backlog its old member had not delivered yet).
        var committedAtKill = Volatile.Read(ref acked.Value);
        foreach (var w in watchers)
            w.CommittedAtKill = committedAtKill;
        var killAt = Stopwatch.GetTimestamp();
        using (var member = Process.GetProcessById(pid))
            member.Kill(); // SIGKILL, as kill -9
        // Enough events after the resume to see a steady stream again, or give up after 30 s.
        var resumed = await WaitUntil(() => watchers.All(w => w.EventsAfterResume >= 50), TimeSpan.FromSeconds(30)).ConfigureAwait(false);
        await stopWriter.CancelAsync().ConfigureAwait(false);
        await writerTask.ConfigureAwait(false);

        var written = await WrittenRevisionsAsync(writerChannel, prefix, end).ConfigureAwait(false);
        var last = written.Count == 0 ? 0 : written.Max();
        await WaitUntil(() => watchers.All(w => w.LastRevision >= last), TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        await stopWatchers.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(readers).ConfigureAwait(false);

        result.Add(killAt, watchers, written, resumed);
    }

    /// <summary>
    /// Starts a put of a new key every <see cref="WriteInterval"/> without waiting for the previous
    /// one (open loop): a put lost with a dead leader hangs until its deadline, and a writer waiting
    /// for it would measure its own timeout, not the watch. A failed put is not retried (its key may
    /// have committed anyway); the next put has a new key.
    /// </summary>
    private static async Task WriteAsync(GrpcChannel channel, ByteString prefix, ResumeResult counts, StrongBox<long> acked, CancellationToken stop)
    {
        var interval = (long)(WriteInterval.TotalSeconds * Stopwatch.Frequency);
        var next = Stopwatch.GetTimestamp();
        var inflight = new List<Task>();
        for (var seq = 0; !stop.IsCancellationRequested; seq++)
        {
            var key = ByteString.CopyFromUtf8(prefix.ToStringUtf8() + seq.ToString("D7", System.Globalization.CultureInfo.InvariantCulture));
            inflight.Add(PutAsync(channel, key, counts, acked));
            inflight.RemoveAll(t => t.IsCompleted);
            // A steady rate, not a catch-up burst after a stall of the writer itself.
            next = Math.Max(next + interval, Stopwatch.GetTimestamp());
            var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), next);
            if (wait > TimeSpan.Zero)
                await Task.WhenAny(Task.Delay(wait, stop)).ConfigureAwait(false);
        }

        await Task.WhenAll(inflight).ConfigureAwait(false);
    }

    /// <summary>One put; raises <paramref name="acked"/> to its revision when it succeeds.</summary>
    private static async Task PutAsync(GrpcChannel channel, ByteString key, ResumeResult counts, StrongBox<long> acked)
    {
        try
        {
            var response = await channel.UnaryAsync(Put, new PutRequest { Key = key, Value = Workloads.Value(16) }, PutResponse.Parser,
                deadline: DateTime.UtcNow.AddSeconds(5)).ConfigureAwait(false);
            long seen;
            while ((seen = Volatile.Read(ref acked.Value)) < response.Header.Revision
                   && Interlocked.CompareExchange(ref acked.Value, response.Header.Revision, seen) != seen)
            {
            }

            counts.CountPut(ok: true);
        }
        catch (RpcException)
        {
            counts.CountPut(ok: false);
        }
    }

    /// <summary>The mod revisions of the keys under the prefix: every revision the writer committed.</summary>
    private static async Task<HashSet<long>> WrittenRevisionsAsync(GrpcChannel channel, ByteString prefix, ByteString end)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                var range = await channel.UnaryAsync("/etcdserverpb.KV/Range", new RangeRequest { Key = prefix, RangeEnd = end, KeysOnly = true }, RangeResponse.Parser,
                    deadline: DateTime.UtcNow.AddSeconds(5)).ConfigureAwait(false);
                return range.Kvs.Select(kv => kv.ModRevision).ToHashSet();
            }
            catch (RpcException) when (attempt < 10)
            {
                await Task.Delay(500).ConfigureAwait(false);
            }
        }
    }

    /// <summary>The index of the leader, from any member that answers.</summary>
    private static async Task<int> LeaderAsync(GrpcChannel[] channels)
    {
        var deadline = Stopwatch.GetTimestamp() + 30 * Stopwatch.Frequency;
        while (true)
        {
            for (var i = 0; i < channels.Length; i++)
            {
                try
                {
                    var status = await channels[i].UnaryAsync("/etcdserverpb.Maintenance/Status", new StatusRequest(), StatusResponse.Parser,
                        deadline: DateTime.UtcNow.AddSeconds(2)).ConfigureAwait(false);
                    if (status.Leader == status.Header.MemberId)
                        return i;
                }
                catch (RpcException) when (Stopwatch.GetTimestamp() < deadline)
                {
                }
            }

            if (Stopwatch.GetTimestamp() > deadline)
                throw new TimeoutException("no member reports itself leader");
            await Task.Delay(200).ConfigureAwait(false);
        }
    }

    /// <summary>Runs the restart command for member <paramref name="index"/> + 1 and waits until it serves a linearizable read; returns its new pid.</summary>
    private static async Task<int> RestartAsync(string command, int index, GrpcChannel channel)
    {
        var start = new ProcessStartInfo("bash", ["-c", command.Replace("{n}", (index + 1).ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal)])
        {
            RedirectStandardOutput = true,
        };
        using var process = Process.Start(start) ?? throw new InvalidOperationException("cannot start bash");
        var output = await process.StandardOutput.ReadToEndAsync().ConfigureAwait(false);
        await process.WaitForExitAsync().ConfigureAwait(false);
        var lastLine = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault();
        if (process.ExitCode != 0 || !int.TryParse(lastLine, out var pid))
            throw new InvalidOperationException($"restart command failed (exit {process.ExitCode}, output \"{output.Trim()}\"): {command}");

        // Serving a linearizable read means it is back in the cluster and caught up with the leader.
        var ready = await WaitUntilAsync(async () =>
        {
            try
            {
                await channel.UnaryAsync("/etcdserverpb.KV/Range", new RangeRequest { Key = ByteString.CopyFromUtf8("resume-ready") }, RangeResponse.Parser,
                    deadline: DateTime.UtcNow.AddSeconds(2)).ConfigureAwait(false);
                return true;
            }
            catch (RpcException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(60)).ConfigureAwait(false);
        if (!ready)
            throw new TimeoutException($"member {index + 1} did not come back within 60 s of its restart");
        return pid;
    }

    private static Task<bool> WaitUntil(Func<bool> condition, TimeSpan timeout) => WaitUntilAsync(() => Task.FromResult(condition()), timeout);

    private static async Task<bool> WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (!await condition().ConfigureAwait(false))
        {
            if (Stopwatch.GetTimestamp() > deadline)
                return false;
            await Task.Delay(20).ConfigureAwait(false);
        }

        return true;
    }
}
