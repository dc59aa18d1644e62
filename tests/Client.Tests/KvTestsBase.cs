using Cairn.Client.Tests.Infra;
using Cairn.Protocol;
using Etcdserverpb;
using Google.Protobuf;
using Mvccpb;
using static Cairn.Client.Tests.Infra.Scripted;

namespace Cairn.Client.Tests;

/// <summary>
/// Client round trips against one live server; the same tests run against a Cairn member
/// (<see cref="CairnKvTests"/>) and a real etcd 3.4 (<see cref="EtcdKvTests"/>).
/// Each test writes under its own prefix, so tests sharing the server do not see each other.
/// </summary>
public abstract class KvTestsBase : IAsyncLifetime
{
    private readonly SingleMember _server;
    protected readonly string P = "t" + Guid.NewGuid().ToString("N")[..8] + "/";

    protected KvTestsBase(SingleMember server) => _server = server;

    protected EtcdClient Client { get; private set; } = null!;

    public Task InitializeAsync()
    {
        Client = new EtcdClient(new EtcdClientOptions { Endpoints = [_server.Endpoint] });
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await Client.DisposeAsync();

    [Fact]
    public async Task PutGetDeleteRoundTrip()
    {
        var put = await Client.PutAsync(P + "a", "1");
        Assert.True(put.Header.Revision > 0);
        var second = await Client.PutAsync(P + "a", "2", new PutOptions { PrevKv = true });
        Assert.Equal("1", second.PrevKv.Value.ToStringUtf8());
        Assert.Equal(put.Header.Revision + 1, second.Header.Revision);

        var got = await Client.GetAsync(P + "a");
        var kv = Assert.Single(got.Kvs);
        Assert.Equal("2", kv.Value.ToStringUtf8());
        Assert.Equal(2, kv.Version);
        Assert.Equal(put.Header.Revision, kv.CreateRevision);
        Assert.Equal(second.Header.Revision, kv.ModRevision);

        var old = await Client.GetAsync(P + "a", new GetOptions { Revision = put.Header.Revision });
        Assert.Equal("1", Assert.Single(old.Kvs).Value.ToStringUtf8());

        var deleted = await Client.DeleteAsync(P + "a", new DeleteOptions { PrevKv = true });
        Assert.Equal(1, deleted.Deleted);
        Assert.Equal("2", Assert.Single(deleted.PrevKvs).Value.ToStringUtf8());
        Assert.Empty((await Client.GetAsync(P + "a")).Kvs);
        Assert.Equal(0, (await Client.DeleteAsync(P + "a")).Deleted);

        var binaryKey = ByteString.CopyFrom(0x00, 0xff, 0x10);
        var fullKey = ByteString.CopyFrom(ByteString.CopyFromUtf8(P).Concat(binaryKey).ToArray());
        await Client.PutAsync(fullKey, ByteString.CopyFrom(1, 2, 3));
        var bin = await Client.GetAsync(KeyRange.Single(fullKey));
        Assert.Equal(new byte[] { 1, 2, 3 }, Assert.Single(bin.Kvs).Value.ToByteArray());
    }

    [Fact]
    public async Task RangeOptions()
    {
        var revs = new Dictionary<string, long>();
        foreach (var (k, v) in new[] { ("b", "zz"), ("a", "y"), ("c", "x"), ("d", "w") })
        {
            revs[k] = (await Client.PutAsync(P + k, v)).Header.Revision;
        }
        await Client.PutAsync(P + "a", "y2");
        await Client.PutAsync(P.TrimEnd('/') + "0", "outside"); // '0' sorts after '/': just outside the prefix

        string Keys(RangeResponse r) => string.Join(",", r.Kvs.Select(kv => kv.Key.ToStringUtf8()[P.Length..]));

        var all = await Client.GetAsync(KeyRange.Prefix(P));
        Assert.Equal("a,b,c,d", Keys(all));
        Assert.Equal(4, all.Count);
        Assert.False(all.More);

        var limited = await Client.GetAsync(KeyRange.Prefix(P), new GetOptions { Limit = 2 });
        Assert.Equal("a,b", Keys(limited));
        Assert.True(limited.More);
        Assert.Equal(4, limited.Count);

        Assert.Equal("b,c", Keys(await Client.GetAsync(KeyRange.Between(P + "b", P + "d"))));
        var fromC = await Client.GetAsync(KeyRange.FromKey(P + "c"));
        Assert.StartsWith(P + "c", fromC.Kvs[0].Key.ToStringUtf8());
        Assert.Contains(fromC.Kvs, kv => kv.Key.ToStringUtf8() == P.TrimEnd('/') + "0");

        Assert.Equal("d,c,b,a", Keys(await Client.GetAsync(KeyRange.Prefix(P), new GetOptions
        { SortOrder = RangeRequest.Types.SortOrder.Descend, SortTarget = RangeRequest.Types.SortTarget.Key })));
        Assert.Equal("b,c,d,a", Keys(await Client.GetAsync(KeyRange.Prefix(P), new GetOptions
        { SortOrder = RangeRequest.Types.SortOrder.Ascend, SortTarget = RangeRequest.Types.SortTarget.Mod })));
        Assert.Equal("d,c,a,b", Keys(await Client.GetAsync(KeyRange.Prefix(P), new GetOptions
        { SortOrder = RangeRequest.Types.SortOrder.Ascend, SortTarget = RangeRequest.Types.SortTarget.Value })));
        Assert.Equal("a,b,c,d", Keys(await Client.GetAsync(KeyRange.Prefix(P), new GetOptions
        { SortOrder = RangeRequest.Types.SortOrder.Descend, SortTarget = RangeRequest.Types.SortTarget.Version })));

        var keysOnly = await Client.GetAsync(KeyRange.Prefix(P), new GetOptions { KeysOnly = true });
        Assert.All(keysOnly.Kvs, kv => Assert.True(kv.Value.IsEmpty));
        Assert.Equal(4, keysOnly.Kvs.Count);

        var countOnly = await Client.GetAsync(KeyRange.Prefix(P), new GetOptions { CountOnly = true });
        Assert.Empty(countOnly.Kvs);
        Assert.Equal(4, countOnly.Count);

        Assert.Equal("a,c,d", Keys(await Client.GetAsync(KeyRange.Prefix(P), new GetOptions { MinModRevision = revs["c"] })));
        Assert.Equal("b,c", Keys(await Client.GetAsync(KeyRange.Prefix(P), new GetOptions { MaxModRevision = revs["c"] })));
        Assert.Equal("a,c,d", Keys(await Client.GetAsync(KeyRange.Prefix(P), new GetOptions { MinCreateRevision = revs["a"] })));
        Assert.Equal("a,b", Keys(await Client.GetAsync(KeyRange.Prefix(P), new GetOptions { MaxCreateRevision = revs["a"] })));

        var serializable = await Client.GetAsync(KeyRange.Prefix(P), new GetOptions { Serializable = true });
        Assert.Equal("a,b,c,d", Keys(serializable));

        var atRevision = await Client.GetAsync(KeyRange.Prefix(P), new GetOptions { Revision = revs["c"] });
        Assert.Equal("a,b,c", Keys(atRevision));
        Assert.Equal("y", atRevision.Kvs[0].Value.ToStringUtf8());

        var deleted = await Client.DeleteAsync(KeyRange.Between(P + "b", P + "d"));
        Assert.Equal(2, deleted.Deleted);
        Assert.Equal("a,d", Keys(await Client.GetAsync(KeyRange.Prefix(P))));
    }

    [Fact]
    public async Task PutOptionsIgnoreValueAndMissingKey()
    {
        await Client.PutAsync(P + "k", "v");
        var ignored = await Client.PutAsync(P + "k", "", new PutOptions { IgnoreValue = true, PrevKv = true });
        Assert.Equal("v", ignored.PrevKv.Value.ToStringUtf8());
        Assert.Equal("v", Assert.Single((await Client.GetAsync(P + "k")).Kvs).Value.ToStringUtf8());

        var e = await Assert.ThrowsAsync<EtcdException>(() => Client.PutAsync(P + "missing", "", new PutOptions { IgnoreValue = true }));
        Assert.Equal(StatusCode.InvalidArgument, e.Status);
        Assert.Equal("etcdserver: key not found", e.Message);
    }

    [Fact]
    public async Task TxnBuilder()
    {
        var create = await Client.Txn()
            .If(Cmp.Version(P + "lock", CompareOp.Equal, 0))
            .Then(Op.Put(P + "lock", "me"), Op.Put(P + "other", "x"))
            .Else(Op.Get(P + "lock"))
            .CommitAsync();
        Assert.True(create.Succeeded);
        Assert.Equal(2, create.Responses.Count);

        var again = await Client.Txn()
            .If(Cmp.Version(P + "lock", CompareOp.Equal, 0))
            .Then(Op.Put(P + "lock", "you"))
            .Else(Op.Get(P + "lock"))
            .CommitAsync();
        Assert.False(again.Succeeded);
        Assert.Equal("me", again.Responses[0].ResponseRange.Kvs[0].Value.ToStringUtf8());
        Assert.Equal(create.Header.Revision, again.Header.Revision);

        var kv = (await Client.GetAsync(P + "lock")).Kvs[0];
        var cas = await Client.Txn()
            .If(Cmp.Value(P + "lock", CompareOp.Equal, "me"), Cmp.ModRevision(P + "lock", CompareOp.Equal, kv.ModRevision),
                Cmp.CreateRevision(P + "lock", CompareOp.Less, kv.ModRevision + 1), Cmp.Lease(P + "lock", CompareOp.Equal, 0),
                Cmp.Version(KeyRange.Prefix(P), CompareOp.Greater, 0))
            .Then(Op.Delete(P + "other", new DeleteOptions { PrevKv = true }), Op.Put(P + "lock", "me2", new PutOptions { PrevKv = true }),
                Op.Get(KeyRange.Prefix(P), new GetOptions { CountOnly = true }))
            .CommitAsync();
        Assert.True(cas.Succeeded);
        Assert.Equal(1, cas.Responses[0].ResponseDeleteRange.Deleted);
        Assert.Equal("me", cas.Responses[1].ResponsePut.PrevKv.Value.ToStringUtf8());
        Assert.Equal(1, cas.Responses[2].ResponseRange.Count);
        // One revision for the whole transaction.
        var after = (await Client.GetAsync(P + "lock")).Kvs[0];
        Assert.Equal(cas.Header.Revision, after.ModRevision);

        var notEqual = await Client.Txn().If(Cmp.Value(P + "lock", CompareOp.NotEqual, "me2")).Then(Op.Delete(P + "lock")).CommitAsync();
        Assert.False(notEqual.Succeeded);
        Assert.Empty(notEqual.Responses);

        var nested = await Client.Txn().Then(Op.Txn(new TxnBuilder().If(Cmp.Value(P + "lock", CompareOp.Greater, "me")).Then(Op.Get(P + "lock")).Build())).CommitAsync();
        Assert.True(nested.Succeeded);
        Assert.True(nested.Responses[0].ResponseTxn.Succeeded);
    }

    [Fact]
    public async Task ErrorsCarryEtcdMessagesAndCodes()
    {
        var first = await Client.PutAsync(P + "h", "1");
        await Client.PutAsync(P + "h", "2");
        var third = await Client.PutAsync(P + "h", "3");

        var future = await Assert.ThrowsAsync<EtcdException>(() => Client.GetAsync(P + "h", new GetOptions { Revision = third.Header.Revision + 1000 }));
        Assert.Equal(StatusCode.OutOfRange, future.Status);
        Assert.Equal(EtcdErrors.FutureRevMessage, future.Message);
        Assert.True(future.IsFutureRevision);
        Assert.Equal(Endpoint(), future.Endpoint);

        await Client.CompactAsync(third.Header.Revision, physical: true);
        var compacted = await Assert.ThrowsAsync<EtcdException>(() => Client.GetAsync(P + "h", new GetOptions { Revision = first.Header.Revision }));
        Assert.Equal(StatusCode.OutOfRange, compacted.Status);
        Assert.Equal(EtcdErrors.CompactedMessage, compacted.Message);
        Assert.True(compacted.IsCompacted);
        var again = await Assert.ThrowsAsync<EtcdException>(() => Client.CompactAsync(first.Header.Revision));
        Assert.Equal(EtcdErrors.CompactedMessage, again.Message);

        var builder = Client.Txn();
        for (var i = 0; i < 129; i++)
        {
            builder.Then(Op.Put(P + "many/" + i, "v"));
        }
        var tooMany = await Assert.ThrowsAsync<EtcdException>(() => builder.CommitAsync());
        Assert.Equal(StatusCode.InvalidArgument, tooMany.Status);
        Assert.Equal("etcdserver: too many operations in txn request", tooMany.Message);

        var duplicate = await Assert.ThrowsAsync<EtcdException>(() => Client.Txn().Then(Op.Put(P + "d", "1"), Op.Put(P + "d", "2")).CommitAsync());
        Assert.Equal(StatusCode.InvalidArgument, duplicate.Status);
        Assert.Equal("etcdserver: duplicate key given in txn request", duplicate.Message);

        var emptyKey = await Assert.ThrowsAsync<EtcdException>(() => Client.PutAsync("", "v"));
        Assert.Equal(StatusCode.InvalidArgument, emptyKey.Status);
        Assert.Equal("etcdserver: key is not provided", emptyKey.Message);

        // The watch variant: history below the compaction is gone, with the compact revision.
        var watchCompacted = await Assert.ThrowsAsync<WatchCompactedException>(async () =>
        {
            await foreach (var _ in Client.Watch(P + "h", new WatchOptions { StartRevision = first.Header.Revision }))
            {
            }
        });
        Assert.Equal(third.Header.Revision, watchCompacted.CompactRevision);
        Assert.Equal(first.Header.Revision, watchCompacted.RequiredRevision);
        Assert.Equal(StatusCode.OutOfRange, watchCompacted.Status);
    }

    [Fact]
    public async Task LeaseGrantTimeToLiveLeasesAndRevoke()
    {
        var granted = await Client.LeaseGrantAsync(60);
        Assert.True(granted.ID > 0);
        Assert.Equal(60, granted.TTL);
        Assert.Equal("", granted.Error);
        await Client.PutAsync(P + "leased", "v", new PutOptions { Lease = granted.ID });

        var ttl = await Client.LeaseTimeToLiveAsync(granted.ID, keys: true);
        Assert.Equal(granted.ID, ttl.ID);
        Assert.InRange(ttl.TTL, 1, 60);
        Assert.Equal(60, ttl.GrantedTTL);
        Assert.Equal(P + "leased", Assert.Single(ttl.Keys).ToStringUtf8());
        Assert.Contains(granted.ID, (await Client.LeasesAsync()).Leases.Select(l => l.ID));

        var chosen = granted.ID + 12345;
        Assert.Equal(chosen, (await Client.LeaseGrantAsync(30, chosen)).ID);
        var exists = await Assert.ThrowsAsync<EtcdException>(() => Client.LeaseGrantAsync(30, chosen));
        Assert.Equal(StatusCode.FailedPrecondition, exists.Status);
        Assert.Equal("etcdserver: lease already exists", exists.Message);
        await Client.LeaseRevokeAsync(chosen);

        var revoked = await Client.LeaseRevokeAsync(granted.ID);
        Assert.True(revoked.Header.Revision > 0);
        Assert.Empty((await Client.GetAsync(P + "leased")).Kvs);
        Assert.Equal(-1, (await Client.LeaseTimeToLiveAsync(granted.ID)).TTL);
        Assert.DoesNotContain(granted.ID, (await Client.LeasesAsync()).Leases.Select(l => l.ID));
        var gone = await Assert.ThrowsAsync<EtcdException>(() => Client.LeaseRevokeAsync(granted.ID));
        Assert.Equal(StatusCode.NotFound, gone.Status);
        Assert.Equal("etcdserver: requested lease not found", gone.Message);
    }

    [Fact]
    public async Task LeaseKeepAliveOutlivesTheTtlAndEndsWhenTheLeaseIsRevoked()
    {
        var lease = (await Client.LeaseGrantAsync(2)).ID;
        await Client.PutAsync(P + "alive", "v", new PutOptions { Lease = lease });
        var answers = new List<LeaseKeepAliveResponse>();
        var revokedAt = DateTime.MaxValue;
        var ended = await Assert.ThrowsAsync<EtcdException>(async () =>
        {
            var started = DateTime.UtcNow;
            await foreach (var answer in Client.LeaseKeepAlive(lease))
            {
                answers.Add(answer);
                if (DateTime.UtcNow - started > TimeSpan.FromSeconds(3.5) && revokedAt == DateTime.MaxValue)
                {
                    // Past the TTL, kept alive all along: the key is still there. Then revoke it under the keep-alive.
                    Assert.Single((await Client.GetAsync(P + "alive")).Kvs);
                    await Client.LeaseRevokeAsync(lease);
                    revokedAt = DateTime.UtcNow;
                }
            }
        });
        Assert.Equal(StatusCode.NotFound, ended.Status);
        Assert.Equal("etcdserver: requested lease not found", ended.Message);
        Assert.True(answers.Count >= 4, $"{answers.Count} keep-alive answers in 3.5 s of a 2 s lease");
        Assert.All(answers, a => Assert.Equal(lease, a.ID));
        Assert.All(answers, a => Assert.InRange(a.TTL, 1, 2));
        Assert.True(DateTime.UtcNow - revokedAt < TimeSpan.FromSeconds(3), "the keep-alive noticed the revoked lease at its next beat");

        // Keep-alive of a lease that never existed ends at once.
        var unknown = await Assert.ThrowsAsync<EtcdException>(async () =>
        {
            await foreach (var _ in Client.LeaseKeepAlive(lease + 777))
            {
            }
        });
        Assert.Equal(StatusCode.NotFound, unknown.Status);
    }

    [Fact]
    public async Task ManyLeasesShareOneKeepAliveStream()
    {
        // A generous answer bound: on a loaded machine a slow answer must not count as a broken stream here.
        await using var client = new EtcdClient(new EtcdClientOptions { Endpoints = [Endpoint()], ReadAttemptTimeout = TimeSpan.FromSeconds(10) });
        const int count = 12;
        var leases = new List<long>();
        using var keepers = new LeaseKeepers(client);
        for (var i = 0; i < count; i++)
        {
            leases.Add((await client.LeaseGrantAsync(3)).ID);
            keepers.Keep(leases[i]);
            await client.PutAsync(P + "k" + i, "v", new PutOptions { Lease = leases[i] });
        }

        // Several TTLs of 3 s: every lease kept alive, all over the one stream.
        await Task.Delay(TimeSpan.FromSeconds(10));
        Assert.All(keepers.Tasks, t => Assert.False(t.IsCompleted, t.Exception?.ToString()));
        Assert.All(keepers.AllAnswers(), n => Assert.True(n >= 3, $"{n} answers in 10 s"));
        Assert.Equal(count, (await client.GetAsync(KeyRange.Prefix(P + "k"))).Kvs.Count);
        Assert.Equal(1, client.LeaseKeepAliveStreamsOpened);

        // A revoked lease ends its own keep-alive with "lease not found"; the others go on.
        await client.LeaseRevokeAsync(leases[1]);
        var ended = await Assert.ThrowsAsync<EtcdException>(() => keepers.Tasks[1]);
        Assert.Equal(StatusCode.NotFound, ended.Status);
        Assert.Equal("etcdserver: requested lease not found", ended.Message);

        // Keepers of the even leases leave: those leases get no more keep-alives and expire; the rest stay.
        for (var i = 0; i < count; i += 2)
        {
            keepers.Stop(i);
        }
        await Task.WhenAll(keepers.Tasks.Where((_, i) => i % 2 == 0));
        await WaitUntilAsync(async () =>
        {
            foreach (var i in Enumerable.Range(0, count).Where(i => i % 2 == 0))
            {
                if ((await client.LeaseTimeToLiveAsync(leases[i])).TTL != -1)
                {
                    return false;
                }
            }
            return true;
        }, seconds: 30);
        var left = (await client.GetAsync(KeyRange.Prefix(P + "k"))).Kvs.Select(kv => kv.Key.ToStringUtf8()).Order().ToList();
        Assert.Equal(Enumerable.Range(0, count).Where(i => i % 2 == 1 && i != 1).Select(i => P + "k" + i).Order(), left);
        Assert.All(keepers.Tasks.Where((_, i) => i % 2 == 1 && i != 1), t => Assert.False(t.IsCompleted, t.Exception?.ToString()));
        Assert.Equal(1, client.LeaseKeepAliveStreamsOpened);

        // Revoke the rest now: left to expire, they would take a revision in the middle of a later test's writes.
        foreach (var i in Enumerable.Range(0, count).Where(i => i % 2 == 1 && i != 1))
        {
            await client.LeaseRevokeAsync(leases[i]);
        }
    }

    [Fact]
    public async Task CancelledAndTimedOutCalls()
    {
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Client.GetAsync(P + "x", cancellationToken: cts.Token));
        var tiny = await Assert.ThrowsAsync<EtcdException>(() => Client.GetAsync(P + "x", callOptions: new CallOptions { Timeout = TimeSpan.Zero }));
        Assert.Equal(StatusCode.DeadlineExceeded, tiny.Status);
        // The client still works afterwards.
        await Client.PutAsync(P + "x", "ok");
    }

    [Fact]
    public async Task WatchOptionsDeliverTheHistory()
    {
        var start = (await Client.PutAsync(P + "w/a", "1")).Header.Revision;
        await Client.PutAsync(P + "w/b", "1");
        await Client.PutAsync(P + "w/a", "2");
        await Client.DeleteAsync(P + "w/b");
        await Client.Txn().Then(Op.Put(P + "w/c", "1"), Op.Put(P + "w/d", "1")).CommitAsync();
        var last = (await Client.PutAsync(P + "x", "outside")).Header.Revision;

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        async Task<List<Event>> Collect(KeyRange range, WatchOptions options, int count)
        {
            var list = new List<Event>();
            await foreach (var batch in Client.Watch(range, options, cts.Token))
            {
                list.AddRange(batch.Events);
                if (list.Count >= count)
                {
                    break;
                }
            }
            return list;
        }

        var prefix = await Collect(KeyRange.Prefix(P + "w/"), new WatchOptions { StartRevision = start, PrevKv = true }, 6);
        Assert.Equal(new[] { "a PUT 1", "b PUT 1", "a PUT 2", "b DELETE ", "c PUT 1", "d PUT 1" },
            prefix.Select(e => $"{e.Kv.Key.ToStringUtf8()[(P.Length + 2)..]} {e.Type.ToString().ToUpperInvariant()} {e.Kv.Value.ToStringUtf8()}"));
        Assert.Equal("1", prefix[2].PrevKv.Value.ToStringUtf8());
        Assert.Equal("1", prefix[3].PrevKv.Value.ToStringUtf8());
        Assert.Equal(prefix[4].Kv.ModRevision, prefix[5].Kv.ModRevision);

        var noPut = await Collect(KeyRange.Prefix(P + "w/"), new WatchOptions { StartRevision = start, NoPut = true }, 1);
        Assert.Equal(Event.Types.EventType.Delete, Assert.Single(noPut).Type);

        var noDelete = await Collect(KeyRange.Between(P + "w/b", P + "w/d"), new WatchOptions { StartRevision = start, NoDelete = true }, 2);
        Assert.Equal(new[] { "b", "c" }, noDelete.Select(e => e.Kv.Key.ToStringUtf8()[(P.Length + 2)..]));

        var fromKey = await Collect(KeyRange.FromKey(P + "w/d"), new WatchOptions { StartRevision = start }, 2);
        Assert.Equal(new[] { P + "w/d", P + "x" }, fromKey.Select(e => e.Kv.Key.ToStringUtf8()));
        Assert.Equal(last, fromKey[1].Kv.ModRevision);

        var single = await Collect(P + "w/a", new WatchOptions { StartRevision = start }, 2);
        Assert.Equal(new[] { "1", "2" }, single.Select(e => e.Kv.Value.ToStringUtf8()));

        // From "now": created first, then only what follows.
        var created = new TaskCompletionSource<long>();
        var live = Task.Run(async () =>
        {
            var list = new List<WatchBatch>();
            await foreach (var batch in Client.Watch(KeyRange.Prefix(P + "w/"), new WatchOptions { CreatedNotify = true, Fragment = true }, cts.Token))
            {
                if (batch.IsCreated)
                {
                    created.TrySetResult(batch.HeaderRevision);
                    continue;
                }
                list.Add(batch);
                break;
            }
            return list;
        });
        var createdAt = await created.Task.WaitAsync(cts.Token);
        Assert.True(createdAt >= last);
        var now = (await Client.PutAsync(P + "w/e", "now")).Header.Revision;
        var got = Assert.Single(await live);
        Assert.Equal(now, Assert.Single(got.Events).Kv.ModRevision);
        Assert.Equal(Endpoint(), got.Endpoint);
    }

    [Fact]
    public async Task LargeCatchUpIsDeliveredWholeWithAndWithoutFragments()
    {
        // 24 revisions of 100 KB: a catch-up response of ~2.4 MB, above the 2 MiB fragment threshold
        // (max request bytes + gRPC overhead), so a fragment=true watch gets it in pieces.
        var value = ByteString.CopyFrom(new byte[100_000]);
        long first = 0;
        for (var i = 0; i < 24; i++)
        {
            var rev = (await Client.PutAsync(ByteString.CopyFromUtf8(P + "big/" + i), value)).Header.Revision;
            first = first == 0 ? rev : first;
        }
        foreach (var fragment in new[] { true, false })
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            var events = new List<Event>();
            await foreach (var batch in Client.Watch(KeyRange.Prefix(P + "big/"), new WatchOptions { StartRevision = first, Fragment = fragment }, cts.Token))
            {
                events.AddRange(batch.Events);
                if (events.Count >= 24)
                {
                    break;
                }
            }
            Assert.Equal(Enumerable.Range(0, 24).Select(i => first + i), events.Select(e => e.Kv.ModRevision));
            Assert.All(events, e => Assert.Equal(100_000, e.Kv.Value.Length));
        }
    }

    [Fact]
    public async Task ManyWatchesShareOneStreamAndCancelCleanly()
    {
        var start = (await Client.PutAsync(P + "s/0", "x")).Header.Revision;
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var tasks = Enumerable.Range(0, 20).Select(i => Task.Run(async () =>
        {
            await foreach (var batch in Client.Watch(P + "s/" + (i % 2), new WatchOptions { StartRevision = start }, cts.Token))
            {
                return batch.Events[0].Kv.Key.ToStringUtf8();
            }
            return "";
        })).ToList();
        await Client.PutAsync(P + "s/1", "y");
        var keys = await Task.WhenAll(tasks);
        Assert.Equal(10, keys.Count(k => k == P + "s/0"));
        Assert.Equal(10, keys.Count(k => k == P + "s/1"));
        Assert.Equal(1, Client.WatchStreamsOpened);

        // Cancelling by token ends the enumeration with OperationCanceledException.
        using var stop = new CancellationTokenSource();
        var watching = Task.Run(async () =>
        {
            await foreach (var _ in Client.Watch(P + "never", cancellationToken: stop.Token))
            {
            }
        });
        await Task.Delay(200);
        stop.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => watching);
    }

    [Fact]
    public async Task ClusterAndMaintenanceCalls()
    {
        var members = await Client.MemberListAsync();
        var member = Assert.Single(members.Members);
        Assert.Contains(Endpoint().TrimEnd('/'), member.ClientURLs);
        var status = await Client.StatusAsync();
        Assert.Equal(member.ID, status.Header.MemberId);
        Assert.Equal(member.ID, status.Leader);
        var direct = await Client.StatusAsync(Endpoint());
        Assert.Equal(member.ID, direct.Header.MemberId);
        // The only member is the leader already.
        await Client.MoveLeaderAsync(member.ID);
    }

    protected string Endpoint() => _server.Endpoint + "/";
}

public sealed class CairnKvTests(CairnMember server) : KvTestsBase(server), IClassFixture<CairnMember>;

public sealed class EtcdKvTests(EtcdMember server) : KvTestsBase(server), IClassFixture<EtcdMember>;
