using Etcdserverpb;
using Google.Protobuf;

namespace Cairn.Client;

/// <summary>The options of a Put request.</summary>
public sealed record PutOptions
{
    /// <summary>Attach the key to this lease (0: none).</summary>
    public long Lease { get; init; }

    /// <summary>Return the previous key-value in the response.</summary>
    public bool PrevKv { get; init; }

    /// <summary>Keep the current value (only the lease changes); fails with "etcdserver: key not found" on a missing key.</summary>
    public bool IgnoreValue { get; init; }

    /// <summary>Keep the current lease; fails with "etcdserver: key not found" on a missing key.</summary>
    public bool IgnoreLease { get; init; }

    internal PutRequest ToRequest(ByteString key, ByteString value) => new()
    {
        Key = key,
        Value = value,
        Lease = Lease,
        PrevKv = PrevKv,
        IgnoreValue = IgnoreValue,
        IgnoreLease = IgnoreLease,
    };
}
