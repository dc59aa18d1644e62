using Etcdserverpb;

namespace Cairn.Client;

/// <summary>The options of a DeleteRange request.</summary>
public sealed record DeleteOptions
{
    /// <summary>Return the deleted key-values in the response.</summary>
    public bool PrevKv { get; init; }

    internal DeleteRangeRequest ToRequest(KeyRange range) => new() { Key = range.Key, RangeEnd = range.RangeEnd, PrevKv = PrevKv };
}
