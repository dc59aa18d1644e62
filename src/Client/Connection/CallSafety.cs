namespace Cairn.Client;

/// <summary>Whether re-sending a call that may have reached a server is harmless.</summary>
internal enum CallSafety
{
    /// <summary>Reads: a second execution changes nothing.</summary>
    Idempotent,

    /// <summary>Writes: re-sent only when the first attempt provably never reached a server.</summary>
    NotIdempotent,
}
