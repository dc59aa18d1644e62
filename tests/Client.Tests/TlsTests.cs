using Cairn.Client.Tests.Infra;

namespace Cairn.Client.Tests;

/// <summary>https endpoints: TLS with ALPN h2, the caller's certificate validation, KV and a watch.</summary>
public abstract class TlsTestsBase(SingleMember server)
{
    [Fact]
    public async Task KvAndWatchOverTls()
    {
        await using var client = new EtcdClient(server.ClientOptions());
        var put = await client.PutAsync("tls/k", "v");
        Assert.Equal("v", Assert.Single((await client.GetAsync("tls/k")).Kvs).Value.ToStringUtf8());
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await foreach (var batch in client.Watch("tls/k", new WatchOptions { StartRevision = put.Header.Revision }, cts.Token))
        {
            Assert.Equal(put.Header.Revision, Assert.Single(batch.Events).Kv.ModRevision);
            Assert.StartsWith("https://", batch.Endpoint, StringComparison.Ordinal);
            break;
        }

        // Without trusting the certificate the connection is refused before any request is sent.
        await using var untrusting = new EtcdClient(new EtcdClientOptions { Endpoints = [server.Endpoint], CallTimeout = TimeSpan.FromSeconds(3) });
        var error = await Assert.ThrowsAsync<EtcdException>(() => untrusting.GetAsync("tls/k"));
        Assert.Equal(Cairn.Protocol.StatusCode.Unavailable, error.Status);
    }
}

public sealed class CairnTlsTests(CairnTlsMember server) : TlsTestsBase(server), IClassFixture<CairnTlsMember>;

public sealed class EtcdTlsTests(EtcdTlsMember server) : TlsTestsBase(server), IClassFixture<EtcdTlsMember>;
