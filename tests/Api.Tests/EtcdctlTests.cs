using System.Diagnostics;
using Cairn.Grpc;
using Cairn.Protocol;
using Etcdserverpb;
using Google.Protobuf;
using Mvccpb;
using Xunit.Abstractions;

namespace Cairn.Api.Tests;

/// <summary>
/// The real Go client (etcdctl, grpc-go) against our server with fake handlers. Runs only when
/// etcdctl is installed; otherwise each test returns early and says why (xunit 2 has no dynamic skip).
/// </summary>
public class EtcdctlTests(ITestOutputHelper output)
{
    private static readonly string? Etcdctl = FindEtcdctl();

    private static string? FindEtcdctl()
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var path = Path.Combine(dir, "etcdctl");
            if (File.Exists(path))
            {
                return path;
            }
        }
        return null;
    }

    private bool Available()
    {
        if (Etcdctl == null)
        {
            output.WriteLine("SKIPPED: etcdctl is not installed (apt-get install etcd-client); nothing was checked.");
            return false;
        }
        return true;
    }

    private static ProcessStartInfo Start(GrpcTestServer server, params string[] args)
    {
        var psi = new ProcessStartInfo(Etcdctl!)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.Environment["ETCDCTL_API"] = "3";
        psi.ArgumentList.Add("--endpoints");
        psi.ArgumentList.Add(server.Address.Authority);
        psi.ArgumentList.Add("--command-timeout=5s");
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        return psi;
    }

    private async Task<(int Code, string Out, string Err)> Run(GrpcTestServer server, params string[] args)
    {
        using var process = Process.Start(Start(server, args))!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill();
            throw;
        }
        var result = (process.ExitCode, await stdout, await stderr);
        output.WriteLine($"etcdctl {string.Join(' ', args)} -> {result.ExitCode}\n{result.Item2}{result.Item3}");
        return result;
    }

    private static GrpcServiceRegistry Registry(List<PutRequest> puts, List<string> userAgents) => new GrpcServiceRegistry()
        .AddUnary("/etcdserverpb.KV/Put", PutRequest.Parser, (req, ctx) =>
        {
            lock (puts)
            {
                puts.Add(req);
                userAgents.Add(ctx.GetHeader("user-agent") ?? "");
            }
            return ValueTask.FromResult(new PutResponse { Header = new ResponseHeader { ClusterId = 1, MemberId = 2, Revision = 2, RaftTerm = 3 } });
        })
        .AddUnary("/etcdserverpb.KV/Range", RangeRequest.Parser, (req, ctx) => req.Key.ToStringUtf8() == "missing"
            ? throw new RpcException(StatusCode.OutOfRange, EtcdErrors.CompactedMessage)
            : ValueTask.FromResult(new RangeResponse
            {
                Header = new ResponseHeader { Revision = 2 },
                Kvs = { new KeyValue { Key = req.Key, Value = ByteString.CopyFromUtf8("v1"), CreateRevision = 2, ModRevision = 2, Version = 1 } },
                Count = 1,
            }))
        .AddDuplexStreaming<WatchRequest, WatchResponse>("/etcdserverpb.Watch/Watch", WatchRequest.Parser, async (requests, writer, ctx) =>
        {
            await foreach (var request in requests.WithCancellation(ctx.CancellationToken))
            {
                if (request.CreateRequest is { } create)
                {
                    await writer.WriteAsync(new WatchResponse { Header = new ResponseHeader { Revision = 2 }, WatchId = 0, Created = true });
                    await writer.WriteAsync(new WatchResponse
                    {
                        Header = new ResponseHeader { Revision = 3 },
                        WatchId = 0,
                        Events = { new Event { Type = Event.Types.EventType.Put, Kv = new KeyValue { Key = create.Key, Value = ByteString.CopyFromUtf8("watched"), ModRevision = 3 } } },
                    });
                }
            }
        });

    [Fact]
    public async Task EtcdctlPutAndGet()
    {
        if (!Available())
        {
            return;
        }
        var puts = new List<PutRequest>();
        var agents = new List<string>();
        await using var server = await GrpcTestServer.StartAsync(Registry(puts, agents));
        var put = await Run(server, "put", "k", "v");
        Assert.Equal(0, put.Code);
        Assert.Equal("OK", put.Out.Trim());
        var single = Assert.Single(puts);
        Assert.Equal("k", single.Key.ToStringUtf8());
        Assert.Equal("v", single.Value.ToStringUtf8());
        Assert.StartsWith("grpc-go/", agents[0]);

        var get = await Run(server, "get", "k");
        Assert.Equal(0, get.Code);
        Assert.Equal("k\nv1", get.Out.Trim());
        Assert.Empty(server.Logs.Errors());
    }

    [Fact]
    public async Task EtcdctlSeesErrorsAndUnimplemented()
    {
        if (!Available())
        {
            return;
        }
        await using var server = await GrpcTestServer.StartAsync(Registry([], []));
        var sw = Stopwatch.StartNew();
        var compacted = await Run(server, "get", "missing");
        Assert.NotEqual(0, compacted.Code);
        Assert.Contains("required revision has been compacted", compacted.Err);

        var members = await Run(server, "member", "list");
        Assert.NotEqual(0, members.Code);
        Assert.Contains("unknown service etcdserverpb.Cluster", members.Err);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(4), $"took {sw.Elapsed}: errors must not wait for a timeout");
    }

    [Fact]
    public async Task EtcdctlWatchReceivesEvents()
    {
        if (!Available())
        {
            return;
        }
        await using var server = await GrpcTestServer.StartAsync(Registry([], []));
        using var process = Process.Start(Start(server, "watch", "wk"))!;
        try
        {
            var lines = new List<string>();
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            while (lines.Count < 3)
            {
                var line = await process.StandardOutput.ReadLineAsync(cts.Token);
                if (line == null)
                {
                    break;
                }
                lines.Add(line);
            }
            Assert.Equal(["PUT", "wk", "watched"], lines);
        }
        finally
        {
            process.Kill();
            await process.WaitForExitAsync();
        }
        // The killed client's reset must not produce exception noise on the server.
        await Task.Delay(300);
        Assert.Empty(server.Logs.Errors());
    }
}
