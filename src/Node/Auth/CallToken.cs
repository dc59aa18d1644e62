namespace Cairn.Node.Auth;

/// <summary>
/// The auth token of the gRPC call being served (metadata "token", as etcd's clients send it).
/// The service layer sets it around each handler, so the member's request methods keep their
/// (request, cancellation) signatures and still know who calls; an AsyncLocal flows it through
/// every await of the handler and to nothing else.
/// </summary>
internal static class CallToken
{
    /// <summary>The metadata key etcd reads the token from.</summary>
    public const string MetadataKey = "token";

    private static readonly AsyncLocal<string?> Token = new();

    /// <summary>The current call's token, or null if it sent none.</summary>
    public static string? Current => Token.Value;

    /// <summary>Sets the token for the rest of the current async flow (the handler's).</summary>
    public static void Set(string? token) => Token.Value = token;
}
