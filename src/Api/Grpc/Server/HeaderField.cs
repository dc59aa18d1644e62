namespace Cairn.Grpc;

/// <summary>One decoded header field (names and values are raw octets: HTTP/2 does not promise UTF-8).</summary>
/// <param name="Name">The field name.</param>
/// <param name="Value">The field value.</param>
/// <param name="NeverIndexed">Sent as "never indexed" (RFC 7541 6.2.3): a re-encoding must keep that promise.</param>
internal readonly record struct HeaderField(byte[] Name, byte[] Value, bool NeverIndexed = false)
{
    /// <summary>The size RFC 7541 section 4.1 charges for the field: octets of name and value plus 32.</summary>
    public int Size => Name.Length + Value.Length + 32;
}
