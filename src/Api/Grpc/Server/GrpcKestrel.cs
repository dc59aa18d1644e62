using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;

namespace Cairn.Grpc;

/// <summary>Configures Kestrel listeners for gRPC from etcd-style URLs.</summary>
public static class GrpcKestrel
{
    /// <summary>
    /// Listens on each URL: <c>http://</c> as cleartext HTTP/2 only (h2c with prior knowledge; with
    /// HTTP/1 also enabled Kestrel would speak HTTP/1.1 to Go clients, which then hang), and
    /// <c>https://</c> as TLS with ALPN h2 using <paramref name="tls"/>. Hosts: an IP address,
    /// <c>0.0.0.0</c>/<c>[::]</c> (any), <c>localhost</c> (loopback v4 and v6) or a name resolved now.
    /// Port 0 picks a free port (read it back from the server's addresses feature). Also lifts the
    /// server-wide limits that break long gRPC streams. Every listener fixes <c>:authority: http://host:port</c>
    /// (etcdctl 3.4 with <c>--cluster</c>) on the way in, which Kestrel would otherwise reject.
    /// </summary>
    /// <param name="options">Kestrel's options, e.g. from <c>WebHost.ConfigureKestrel</c>.</param>
    /// <param name="urls">The listen URLs (etcd --listen-client-urls).</param>
    /// <param name="tls">Certificate files for https URLs; required when any URL is https.</param>
    public static void Configure(KestrelServerOptions options, IEnumerable<Uri> urls, GrpcTlsOptions? tls = null)
    {
        options.AddServerHeader = false;
        options.Limits.MinRequestBodyDataRate = null;
        options.Limits.MinResponseDataRate = null;
        options.Limits.MaxRequestBodySize = null;
        // Go clients multiplex every call and watch of a client over one connection; etcd allows
        // an unbounded number of concurrent streams, Kestrel's default is 100.
        options.Limits.Http2.MaxStreamsPerConnection = 65_536;

        foreach (var url in urls)
        {
            var secure = url.Scheme switch
            {
                "http" => false,
                "https" => true,
                _ => throw new ArgumentException($"Unsupported listen URL scheme in {url} (use http or https).", nameof(urls)),
            };
            if (secure && tls == null)
            {
                throw new ArgumentException($"{url} is https but no certificate files were given.", nameof(tls));
            }
            var port = url.Port;
            void Listen(ListenOptions listen)
            {
                listen.Protocols = HttpProtocols.Http2;
                if (secure)
                {
                    listen.UseHttps(Https(tls!));
                }
                // After TLS, so that it reads the decrypted HTTP/2 frames.
                listen.UseHttp2AuthorityFix(options);
            }

            var host = url.Host;
            if (host.Equals("localhost", StringComparison.OrdinalIgnoreCase))
            {
                if (port == 0)
                {
                    // Kestrel cannot bind one dynamic port on both loopbacks; IPv4 is what clients dial.
                    options.Listen(IPAddress.Loopback, 0, Listen);
                }
                else
                {
                    options.ListenLocalhost(port, Listen);
                }
            }
            else if (IPAddress.TryParse(host.Trim('[', ']'), out var ip))
            {
                options.Listen(ip, port, Listen);
            }
            else
            {
                foreach (var address in Dns.GetHostAddresses(host).Distinct())
                {
                    options.Listen(address, port, Listen);
                }
            }
        }
    }

    private static HttpsConnectionAdapterOptions Https(GrpcTlsOptions tls)
    {
        var https = new HttpsConnectionAdapterOptions
        {
            ServerCertificate = X509Certificate2.CreateFromPemFile(tls.CertFile, tls.KeyFile),
        };
        if (tls.ClientCertAuth)
        {
            https.ClientCertificateMode = ClientCertificateMode.RequireCertificate;
        }
        if (tls.TrustedCaFile != null)
        {
            var roots = new X509Certificate2Collection();
            roots.ImportFromPemFile(tls.TrustedCaFile);
            https.ClientCertificateValidation = (certificate, _, _) =>
            {
                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.AddRange(roots);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                return chain.Build(certificate);
            };
        }
        return https;
    }
}
