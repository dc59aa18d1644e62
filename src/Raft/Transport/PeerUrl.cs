using System.Net;

namespace Cairn.Raft.Transport;

/// <summary>
/// Turns etcd-style peer URLs (<c>http://10.0.0.1:2380</c>) into socket endpoints. The scheme is
/// kept for compatibility with etcd flags; the bytes on the wire are our own TCP protocol, not HTTP.
/// </summary>
internal static class PeerUrl
{
    /// <summary>Endpoint to dial for a peer URL; host names stay unresolved so DNS changes are picked up on reconnect.</summary>
    public static EndPoint ToDialEndPoint(Uri url)
    {
        Validate(url);
        if (IPAddress.TryParse(url.Host.Trim('[', ']'), out IPAddress? ip))
        {
            return new IPEndPoint(ip, url.Port);
        }

        return new DnsEndPoint(url.Host, url.Port);
    }

    /// <summary>Local endpoint to bind for a listen URL (<c>localhost</c> and IP literals; other names are resolved once).</summary>
    public static IPEndPoint ToListenEndPoint(Uri url)
    {
        Validate(url);
        string host = url.Host.Trim('[', ']');
        if (IPAddress.TryParse(host, out IPAddress? ip))
        {
            return new IPEndPoint(ip, url.Port);
        }

        if (string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase))
        {
            return new IPEndPoint(IPAddress.Loopback, url.Port);
        }

        IPAddress[] addresses = Dns.GetHostAddresses(host);
        if (addresses.Length == 0)
        {
            throw new ArgumentException($"listen URL '{url}' resolves to no address", nameof(url));
        }

        return new IPEndPoint(addresses[0], url.Port);
    }

    private static void Validate(Uri url)
    {
        ArgumentNullException.ThrowIfNull(url);
        if (!url.IsAbsoluteUri)
        {
            throw new ArgumentException($"peer URL '{url}' must be absolute, like http://127.0.0.1:2380", nameof(url));
        }

        if (url.Scheme == Uri.UriSchemeHttps)
        {
            throw new NotSupportedException($"peer URL '{url}': TLS between peers (https) is not supported yet; use http://");
        }

        if (url.Scheme != Uri.UriSchemeHttp)
        {
            throw new ArgumentException($"peer URL '{url}' must use the http scheme", nameof(url));
        }
    }
}
