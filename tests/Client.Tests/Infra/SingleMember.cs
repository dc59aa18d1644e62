using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Cairn.Client.Tests.Infra;

/// <summary>
/// One server process (a Cairn member or a real etcd) on free loopback ports with a temp data
/// dir; started by the fixture, killed (and its dir removed) on dispose, even after failures.
/// </summary>
public abstract class SingleMember : IAsyncLifetime
{
    private Process? _process;
    private StringBuilder? _output;

    public string Endpoint { get; private set; } = "";

    /// <summary>The server's OS pid (0 before start).</summary>
    public int Pid => _process?.Id ?? 0;

    public string DataDir { get; private set; } = "";

    public abstract string Name { get; }

    /// <summary>True for the real etcd (some messages differ by server version).</summary>
    public abstract bool IsEtcd { get; }

    /// <summary>Serve clients over TLS with a throw-away self-signed certificate for 127.0.0.1.</summary>
    public virtual bool Tls => false;

    private X509Certificate2? _certificate;

    /// <summary>Client options that reach this member (trusting its certificate when it uses TLS).</summary>
    public EtcdClientOptions ClientOptions() => new()
    {
        Endpoints = [Endpoint],
        SslOptions = _certificate == null ? null : new SslClientAuthenticationOptions
        {
            RemoteCertificateValidationCallback = (_, cert, _, _) => cert != null && cert.GetCertHashString() == _certificate.Thumbprint,
        },
    };

    protected abstract (string File, List<string> Args) Command(string clientUrl, int peerPort, string dataDir);

    /// <summary>The --cert-file/--key-file arguments when <see cref="Tls"/>.</summary>
    protected List<string> TlsArgs() => _certificate == null ? [] :
        ["--cert-file", Path.Combine(DataDir, "server.crt"), "--key-file", Path.Combine(DataDir, "server.key")];

    private void CreateCertificate()
    {
        using var rsa = RSA.Create(2048);
        var request = new CertificateRequest("CN=127.0.0.1", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        san.AddDnsName("localhost");
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        _certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        File.WriteAllText(Path.Combine(DataDir, "server.crt"), _certificate.ExportCertificatePem());
        File.WriteAllText(Path.Combine(DataDir, "server.key"), rsa.ExportPkcs8PrivateKeyPem());
    }

    public async Task InitializeAsync()
    {
        DataDir = RepoPaths.TempDir("cairn-client-" + Name);
        var clientPort = TestPorts.Free();
        var peerPort = TestPorts.Free();
        if (Tls)
        {
            CreateCertificate();
        }
        Endpoint = $"{(Tls ? "https" : "http")}://127.0.0.1:{clientPort}";
        var (file, args) = Command(Endpoint, peerPort, DataDir);
        (_process, _output) = ChildProcesses.Start(file, args, DataDir);
        var sw = Stopwatch.StartNew();
        var options = ClientOptions();
        options.CallTimeout = TimeSpan.FromSeconds(1);
        await using var client = new EtcdClient(options);
        while (true)
        {
            try
            {
                await client.GetAsync("readiness-probe");
                return;
            }
            catch (Exception) when (sw.Elapsed < TimeSpan.FromSeconds(30) && !_process.HasExited)
            {
                await Task.Delay(100);
            }
            catch (Exception e)
            {
                var output = Output;
                await DisposeAsync();
                throw new InvalidOperationException($"{Name} did not become ready at {Endpoint}: {e.Message}\n{output}");
            }
        }
    }

    public string Output
    {
        get
        {
            if (_output == null)
            {
                return "";
            }
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public Task DisposeAsync()
    {
        if (_process != null)
        {
            ChildProcesses.Kill(_process);
            _process = null;
        }
        try
        {
            Directory.Delete(DataDir, recursive: true);
        }
        catch (Exception)
        {
            // Best effort.
        }
        return Task.CompletedTask;
    }
}

/// <summary>A Cairn member: <c>dotnet cairn.dll</c> with etcd's flags.</summary>
public class CairnMember : SingleMember
{
    public override string Name => "cairn";

    public override bool IsEtcd => false;

    protected override (string File, List<string> Args) Command(string clientUrl, int peerPort, string dataDir) =>
        ("dotnet", [RepoPaths.CairnDll, "--name", "n1", "--data-dir", Path.Combine(dataDir, "n1"),
            "--listen-client-urls", clientUrl, "--advertise-client-urls", clientUrl,
            "--listen-peer-urls", $"http://127.0.0.1:{peerPort}", "--initial-advertise-peer-urls", $"http://127.0.0.1:{peerPort}",
            "--initial-cluster", $"n1=http://127.0.0.1:{peerPort}", .. TlsArgs()]);
}

/// <summary>A real etcd 3.4 single member (/usr/bin/etcd).</summary>
public class EtcdMember : SingleMember
{
    public override string Name => "etcd";

    public override bool IsEtcd => true;

    protected override (string File, List<string> Args) Command(string clientUrl, int peerPort, string dataDir) =>
        ("etcd", ["--name", "e", "--data-dir", Path.Combine(dataDir, "e"),
            "--listen-client-urls", clientUrl, "--advertise-client-urls", clientUrl,
            "--listen-peer-urls", $"http://127.0.0.1:{peerPort}", "--initial-advertise-peer-urls", $"http://127.0.0.1:{peerPort}",
            "--initial-cluster", $"e=http://127.0.0.1:{peerPort}", .. TlsArgs()]);
}

/// <summary>A Cairn member serving clients over TLS.</summary>
public sealed class CairnTlsMember : CairnMember
{
    public override bool Tls => true;
}

/// <summary>A real etcd serving clients over TLS.</summary>
public sealed class EtcdTlsMember : EtcdMember
{
    public override bool Tls => true;
}
