// WatchTail: tails a key prefix on an etcd or Cairn cluster and keeps printing through member
// failures (kill -9, SIGSTOP, lost leader): the Cairn client resumes the watch on another
// endpoint from the last delivered revision, so every committed change is printed exactly once.
//
// Usage:
//   dotnet run --project samples/WatchTail -- [options] PREFIX
//     --endpoints URLS   comma-separated client URLs (default http://127.0.0.1:2379);
//                        http://host:port, https://host:port or host:port
//     --rev N            start at revision N (default: only new changes)
//     --prev-kv          also print each key's previous value
//     --require-leader   leave a member that has lost its leader (hasleader: true)
//     --verbose          print the client's failover log (stream broken / reopened)
//
// Example, against the shared 3-member etcd (start it with /work/shared/tools/etcd-cluster.sh start DIR):
//   dotnet run --project samples/WatchTail -- --endpoints 127.0.0.1:22379,127.0.0.1:22479,127.0.0.1:22579 --verbose app/
//   ETCDCTL_API=3 etcdctl --endpoints 127.0.0.1:22479 put app/x 1
//   kill -9 "$(cat DIR/e1.pid)"        # the tail switches member and goes on
// Output: one line per event, "<revision> PUT|DELETE <key> = <value>", plus a line whenever the
// tail moves to another member. Ctrl+C (or SIGTERM) stops it, cancelling the watch on the server.
using Cairn.Client;
using Mvccpb;

var endpoints = new List<string> { "http://127.0.0.1:2379" };
long startRevision = 0;
bool prevKv = false, requireLeader = false, verbose = false;
string? prefix = null;
for (var i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--endpoints" when i + 1 < args.Length:
            endpoints = args[++i].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
            break;
        case "--rev" when i + 1 < args.Length && long.TryParse(args[i + 1], out var rev):
            startRevision = rev;
            i++;
            break;
        case "--prev-kv":
            prevKv = true;
            break;
        case "--require-leader":
            requireLeader = true;
            break;
        case "--verbose":
            verbose = true;
            break;
        case "-h" or "--help":
            Usage();
            return 0;
        default:
            if (args[i].StartsWith("--", StringComparison.Ordinal) || prefix != null)
            {
                Console.Error.WriteLine($"watchtail: unexpected argument {args[i]}");
                Usage();
                return 2;
            }
            prefix = args[i];
            break;
    }
}
if (prefix == null)
{
    Usage();
    return 2;
}

using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    stop.Cancel();
};
AppDomain.CurrentDomain.ProcessExit += (_, _) => stop.Cancel();

await using var client = new EtcdClient(new EtcdClientOptions
{
    Endpoints = endpoints,
    // Notice a frozen member within about two seconds instead of the default eight.
    WatchProbeInterval = TimeSpan.FromSeconds(1),
    WatchProbeTimeout = TimeSpan.FromSeconds(1),
    Log = verbose ? line => Console.Error.WriteLine($"# {DateTime.Now:HH:mm:ss.fff} {line}") : null,
});

string? following = null;
while (!stop.IsCancellationRequested)
{
    try
    {
        var options = new WatchOptions { StartRevision = startRevision, PrevKv = prevKv, RequireLeader = requireLeader, CreatedNotify = true };
        await foreach (var batch in client.Watch(KeyRange.Prefix(prefix), options, stop.Token))
        {
            if (batch.Endpoint != following)
            {
                Console.WriteLine(following == null
                    ? $"-- tailing \"{prefix}\" on {batch.Endpoint} (revision {batch.HeaderRevision})"
                    : $"-- now following {batch.Endpoint}");
                following = batch.Endpoint;
            }
            foreach (var e in batch.Events)
            {
                var kind = e.Type == Event.Types.EventType.Put ? "PUT" : "DELETE";
                var line = $"{e.Kv.ModRevision} {kind} {e.Kv.Key.ToStringUtf8()}";
                if (e.Type == Event.Types.EventType.Put)
                {
                    line += $" = {e.Kv.Value.ToStringUtf8()}";
                }
                if (prevKv && e.PrevKv != null)
                {
                    line += $" (was {e.PrevKv.Value.ToStringUtf8()})";
                }
                Console.WriteLine(line);
                startRevision = e.Kv.ModRevision + 1;
            }
        }
    }
    catch (OperationCanceledException) when (stop.IsCancellationRequested)
    {
        break;
    }
    catch (WatchCompactedException e)
    {
        // The history we needed is gone: say so and carry on from what is left.
        Console.WriteLine($"-- revisions {startRevision}..{e.CompactRevision - 1} were compacted; continuing from {e.CompactRevision}");
        startRevision = e.CompactRevision;
    }
    catch (EtcdException e)
    {
        Console.Error.WriteLine($"watchtail: {e}");
        return 1;
    }
}
return 0;

static void Usage() => Console.Error.WriteLine(
    "usage: watchtail [--endpoints URL,URL,...] [--rev N] [--prev-kv] [--require-leader] [--verbose] PREFIX");
