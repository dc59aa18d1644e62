using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Cairn.Grpc.Client;
using Cairn.Protocol;
using Etcdserverpb;
using Google.Protobuf;
using Xunit.Abstractions;

namespace Cairn.Api.Tests;

/// <summary>
/// Our client against the real etcd 3.4 (installed from Debian), so the client is known to speak
/// to both servers. Returns early, saying why, when the etcd binary is absent.
/// </summary>
public sealed class RealEtcdTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly string? EtcdBinary = new[] { "/usr/bin/etcd", "/usr/local/bin/etcd" }.FirstOrDefault(File.Exists);
    private Process? _etcd;
    private string? _dataDir;
    private Uri _address = null!;

    private static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    public async Task InitializeAsync()
    {
        if (EtcdBinary == null)
        {
            return;
        }
        _dataDir = Directory.CreateTempSubdirectory("cairn-etcd").FullName;
        var client = $"http://127.0.0.1:{FreePort()}";
        var peer = $"http://127.0.0.1:{FreePort()}";
        _address = new Uri(client);
        var psi = new ProcessStartInfo(EtcdBinary) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[]
        {
            "--name", "t", "--data-dir", _dataDir, "--listen-client-urls", client, "--advertise-client-urls", client,
            "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer, "--initial-cluster", $"t={peer}",
        })
        {
            psi.ArgumentList.Add(a);
        }
        _etcd = Process.Start(psi)!;
        _ = _etcd.StandardOutput.ReadToEndAsync();
        _ = _etcd.StandardError.ReadToEndAsync();
        using var channel = new GrpcChannel(_address);
        var until = DateTime.UtcNow.AddSeconds(15);
        while (true)
        {
            try
            {
                await channel.UnaryAsync("/etcdserverpb.KV/Range", new RangeRequest { Key = ByteString.CopyFromUtf8("x") }, RangeResponse.Parser,
                    deadline: DateTime.UtcNow.AddSeconds(1));
                return;
            }
            catch (RpcException) when (DateTime.UtcNow < until)
            {
                await Task.Delay(100);
            }
        }
    }

    public async Task DisposeAsync()
    {
        if (_etcd != null)
        {
            _etcd.Kill();
            await _etcd.WaitForExitAsync();
            _etcd.Dispose();
        }
        if (_dataDir != null)
        {
            Directory.Delete(_dataDir, recursive: true);
        }
    }

    private bool Available()
    {
        if (EtcdBinary == null)
        {
            output.WriteLine("SKIPPED: etcd is not installed (apt-get install etcd-server); nothing was checked.");
        }
        return EtcdBinary != null;
    }

    [Fact]
    public async Task UnaryWatchAndErrorsAgainstEtcd()
    {
        if (!Available())
        {
            return;
        }
        using var channel = new GrpcChannel(_address);
        var put = await channel.UnaryAsync("/etcdserverpb.KV/Put",
            new PutRequest { Key = ByteString.CopyFromUtf8("k"), Value = ByteString.CopyFromUtf8("v1") }, PutResponse.Parser,
            deadline: DateTime.UtcNow.AddSeconds(5));
        var revision = put.Header.Revision;
        Assert.True(revision > 0);

        var range = await channel.UnaryAsync("/etcdserverpb.KV/Range", new RangeRequest { Key = ByteString.CopyFromUtf8("k") }, RangeResponse.Parser);
        Assert.Equal("v1", range.Kvs.Single().Value.ToStringUtf8());

        // etcd's own error text and code come through.
        var future = await Assert.ThrowsAsync<RpcException>(() => channel.UnaryAsync("/etcdserverpb.KV/Range",
            new RangeRequest { Key = ByteString.CopyFromUtf8("k"), Revision = revision + 100 }, RangeResponse.Parser));
        Assert.Equal(StatusCode.OutOfRange, future.Status);
        Assert.Equal(EtcdErrors.FutureRevMessage, future.Message);

        var unknown = await Assert.ThrowsAsync<RpcException>(() => channel.UnaryAsync("/etcdserverpb.KV/Nope", new RangeRequest(), RangeResponse.Parser));
        Assert.Equal(StatusCode.Unimplemented, unknown.Status);

        // Watch: created, then the event for a put made after it.
        using var watch = channel.DuplexStreaming<WatchRequest, WatchResponse>("/etcdserverpb.Watch/Watch", WatchResponse.Parser,
            [new("hasleader", "true")]);
        await watch.WriteAsync(new WatchRequest { CreateRequest = new WatchCreateRequest { Key = ByteString.CopyFromUtf8("k") } });
        Assert.True(await watch.MoveNextAsync());
        Assert.True(watch.Current.Created);
        await channel.UnaryAsync("/etcdserverpb.KV/Put",
            new PutRequest { Key = ByteString.CopyFromUtf8("k"), Value = ByteString.CopyFromUtf8("v2") }, PutResponse.Parser);
        Assert.True(await watch.MoveNextAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(5)));
        var ev = Assert.Single(watch.Current.Events);
        Assert.Equal("v2", ev.Kv.Value.ToStringUtf8());
        Assert.Equal(revision + 1, ev.Kv.ModRevision);

        // Half-close does NOT end an etcd watch stream (etcd's recvLoop returns nil on EOF and
        // the stream lives until the client cancels); Cairn's Watch must behave the same.
        await watch.CompleteRequestAsync();
        var next = watch.MoveNextAsync().AsTask();
        await Task.Delay(500);
        Assert.False(next.IsCompleted);
        watch.Dispose();
        Assert.Equal(StatusCode.Cancelled, (await Assert.ThrowsAsync<RpcException>(() => next)).Status);

        // Server streaming: a snapshot arrives in chunks and ends with OK.
        using var snapshot = channel.ServerStreaming("/etcdserverpb.Maintenance/Snapshot", new SnapshotRequest(), SnapshotResponse.Parser);
        long bytes = 0;
        await foreach (var chunk in snapshot)
        {
            bytes += chunk.Blob.Length;
        }
        Assert.True(bytes > 0);
        Assert.Equal(StatusCode.OK, snapshot.Status);
    }

    [Fact]
    public async Task DeadlineAgainstEtcd()
    {
        if (!Available())
        {
            return;
        }
        using var channel = new GrpcChannel(_address);
        // An already-passed deadline fails at once without a round trip; a short one on a
        // watch that never gets events ends as DEADLINE_EXCEEDED.
        var past = await Assert.ThrowsAsync<RpcException>(() => channel.UnaryAsync("/etcdserverpb.KV/Range", new RangeRequest(), RangeResponse.Parser,
            deadline: DateTime.UtcNow.AddSeconds(-1)));
        Assert.Equal(StatusCode.DeadlineExceeded, past.Status);
        using var watch = channel.DuplexStreaming<WatchRequest, WatchResponse>("/etcdserverpb.Watch/Watch", WatchResponse.Parser,
            deadline: DateTime.UtcNow.AddMilliseconds(700));
        await watch.WriteAsync(new WatchRequest { CreateRequest = new WatchCreateRequest { Key = ByteString.CopyFromUtf8("quiet") } });
        Assert.True(await watch.MoveNextAsync());
        var sw = Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<RpcException>(() => watch.MoveNextAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.Equal(StatusCode.DeadlineExceeded, e.Status);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(2));
    }
}
