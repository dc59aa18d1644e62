using Cairn.Grpc.Client;
using Etcdserverpb;
using Google.Protobuf;

namespace Cairn.JepsenLite.Cluster;

public sealed partial class TestCluster
{
    /// <summary>
    /// Replaces the member in slot <paramref name="victim"/> the way an operator would: MemberRemove through a surviving
    /// member, stop it, wipe its data dir, MemberAdd a new peer URL (a new proxy port, hence a new member id on both
    /// Cairn and etcd) and start it under a fresh name with <c>--initial-cluster-state existing</c> and an
    /// <c>--initial-cluster</c> listing the current members (what etcd validates on join); then waits until it serves
    /// a linearizable read. The slot keeps its real client port, so its clients and watchers come back to it.
    /// Returns a description of what was done; throws <see cref="TimeoutException"/> when a step does not complete.
    /// </summary>
    public async Task<string> ReplaceAsync(int victim, Action<string> note, CancellationToken ct)
    {
        var m = Members[victim];
        int via = Enumerable.Range(1, Members.Count - 1).Select(d => (victim + d) % Members.Count).First(i => Members[i].Running && !Members[i].Paused);
        ulong oldId = m.Id;
        string oldName = m.Name;
        await Retry($"MemberRemove {oldName} ({oldId:x})", async deadline =>
        {
            try
            {
                await AdminChannel(via).UnaryAsync("/etcdserverpb.Cluster/MemberRemove", new MemberRemoveRequest { ID = oldId },
                    MemberRemoveResponse.Parser, deadline: deadline, cancellationToken: ct);
            }
            catch (Cairn.Protocol.RpcException e) when (e.Status == Cairn.Protocol.StatusCode.NotFound)
            {
                // An earlier attempt whose answer we lost did remove it.
            }
            return true;
        }, ct);
        note($"removed {oldName} ({oldId:x}) via {Members[via].Name}");
        m.Kill();
        if (Directory.Exists(m.DataDir)) Directory.Delete(m.DataDir, recursive: true);

        Proxy.RemoveRoute(m.ProxyPort);
        m.ProxyPort = FreePort();
        Proxy.AddRoute(victim, m.ProxyPort, m.PeerPort);
        m.Generation++;
        m.Name = $"c{victim + 1}-{m.Generation}";
        var url = m.PeerUrl;
        MemberAddResponse? added = null;
        await Retry($"MemberAdd {url}", async deadline =>
        {
            try
            {
                var req = new MemberAddRequest();
                req.PeerURLs.Add(url);
                added = await AdminChannel(via).UnaryAsync("/etcdserverpb.Cluster/MemberAdd", req, MemberAddResponse.Parser, deadline: deadline, cancellationToken: ct);
                return true;
            }
            catch (Cairn.Protocol.RpcException e) when (e.Message.Contains("already exists", StringComparison.OrdinalIgnoreCase))
            {
                // An earlier attempt whose answer we lost did add it: take the id and members from the member list.
                var list = await AdminChannel(via).UnaryAsync("/etcdserverpb.Cluster/MemberList", new MemberListRequest(), MemberListResponse.Parser,
                    deadline: deadline, cancellationToken: ct);
                var mine = list.Members.First(x => x.PeerURLs.Contains(url));
                added = new MemberAddResponse { Member = mine, Members = { list.Members } };
                return true;
            }
        }, ct);
        m.Id = added!.Member.ID;
        Proxy.Ids[m.Id] = victim;
        // Names of the other members from our own bookkeeping (by id): a member that has not published its
        // attributes yet has an empty name in the list. Peer URLs exactly as the cluster holds them.
        var initial = string.Join(",", added.Members.Select(x =>
        {
            var slot = Members.FindIndex(y => y.Id == x.ID);
            if (slot < 0) throw new InvalidOperationException($"member list has unknown member {x.ID:x} ({x.Name} {string.Join(" ", x.PeerURLs)})");
            return $"{Members[slot].Name}={string.Join(",", x.PeerURLs)}";
        }));
        note($"added {m.Name} ({m.Id:x}) at {url}; --initial-cluster {initial}");
        m.Args = MemberArgs(m, initial, "existing", Token);
        File.AppendAllText(m.LogFile, $"==== jepsen-lite: replaced {oldName} ({oldId:x}) by {m.Name} ({m.Id:x}), data dir wiped ====\n");
        m.Start();
        await WaitServingAsync(victim, TimeSpan.FromSeconds(30), ct);
        return $"replaced {oldName} ({oldId:x}) by {m.Name} ({m.Id:x})";
    }

    /// <summary>Waits until member <paramref name="i"/> names a leader, reports its current id and serves a linearizable read.</summary>
    public async Task WaitServingAsync(int i, TimeSpan timeout, CancellationToken ct)
    {
        var until = DateTime.UtcNow + timeout;
        while (true)
        {
            var s = await StatusAsync(i, ct);
            if (s is { Leader: > 0 } && s.Header.MemberId == Members[i].Id)
            {
                try
                {
                    await AdminChannel(i).UnaryAsync("/etcdserverpb.KV/Range", new RangeRequest { Key = ByteString.CopyFromUtf8("health") },
                        RangeResponse.Parser, deadline: DateTime.UtcNow.AddSeconds(2), cancellationToken: ct);
                    return;
                }
                catch (Cairn.Protocol.RpcException)
                {
                }
            }
            if (DateTime.UtcNow > until) throw new TimeoutException($"{Members[i].Name} ({Members[i].Id:x}) not serving after {timeout}");
            await Task.Delay(300, ct);
        }
    }

    /// <summary>Retries a control call for up to 30 s (leader changes make membership calls fail transiently).</summary>
    private static async Task Retry(string what, Func<DateTime, Task<bool>> call, CancellationToken ct)
    {
        var until = DateTime.UtcNow.AddSeconds(30);
        string last = "";
        while (DateTime.UtcNow < until)
        {
            try
            {
                if (await call(DateTime.UtcNow.AddSeconds(5))) return;
            }
            catch (Cairn.Protocol.RpcException e)
            {
                last = $"{e.Status}: {e.Message}";
            }
            await Task.Delay(500, ct);
        }
        throw new TimeoutException($"{what} did not succeed within 30 s (last error: {last})");
    }
}
