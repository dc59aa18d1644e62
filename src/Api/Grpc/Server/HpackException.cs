namespace Cairn.Grpc;

/// <summary>
/// A header block that cannot be decoded (RFC 7541 section 6/5 violations, or more than the configured bounds).
/// HTTP/2 treats any such block as a connection error (COMPRESSION_ERROR), so the connection is closed.
/// </summary>
internal sealed class HpackException(string message) : Exception(message);
