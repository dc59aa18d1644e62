namespace Cairn.Grpc;

/// <summary>TLS for <c>https://</c> listeners, from PEM files as etcd takes them (--cert-file, --key-file, --trusted-ca-file).</summary>
public sealed class GrpcTlsOptions
{
    /// <summary>PEM certificate (chain) of the server.</summary>
    public required string CertFile { get; init; }

    /// <summary>PEM private key of the certificate.</summary>
    public required string KeyFile { get; init; }

    /// <summary>PEM CA bundle that client certificates must chain to (etcd --trusted-ca-file); null accepts the system roots.</summary>
    public string? TrustedCaFile { get; init; }

    /// <summary>Require a valid client certificate (etcd --client-cert-auth).</summary>
    public bool ClientCertAuth { get; init; }
}
