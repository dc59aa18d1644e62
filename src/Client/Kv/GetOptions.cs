using Etcdserverpb;

namespace Cairn.Client;

/// <summary>The options of a Range (Get) request beyond the key range; zero/false means etcd's default.</summary>
public sealed record GetOptions
{
    /// <summary>At most this many keys (0: no limit); <c>more</c> in the response tells if some were left out.</summary>
    public long Limit { get; init; }

    /// <summary>Read the store as of this revision (0: the latest).</summary>
    public long Revision { get; init; }

    /// <summary>Sort order (default: none, i.e. by key ascending).</summary>
    public RangeRequest.Types.SortOrder SortOrder { get; init; }

    /// <summary>What to sort by.</summary>
    public RangeRequest.Types.SortTarget SortTarget { get; init; }

    /// <summary>Serve from the member's local state without a quorum read (may be stale).</summary>
    public bool Serializable { get; init; }

    /// <summary>Return keys without values.</summary>
    public bool KeysOnly { get; init; }

    /// <summary>Return only the count.</summary>
    public bool CountOnly { get; init; }

    /// <summary>Only keys whose mod revision is ≥ this (0: no bound).</summary>
    public long MinModRevision { get; init; }

    /// <summary>Only keys whose mod revision is ≤ this (0: no bound).</summary>
    public long MaxModRevision { get; init; }

    /// <summary>Only keys whose create revision is ≥ this (0: no bound).</summary>
    public long MinCreateRevision { get; init; }

    /// <summary>Only keys whose create revision is ≤ this (0: no bound).</summary>
    public long MaxCreateRevision { get; init; }

    internal RangeRequest ToRequest(KeyRange range) => new()
    {
        Key = range.Key,
        RangeEnd = range.RangeEnd,
        Limit = Limit,
        Revision = Revision,
        SortOrder = SortOrder,
        SortTarget = SortTarget,
        Serializable = Serializable,
        KeysOnly = KeysOnly,
        CountOnly = CountOnly,
        MinModRevision = MinModRevision,
        MaxModRevision = MaxModRevision,
        MinCreateRevision = MinCreateRevision,
        MaxCreateRevision = MaxCreateRevision,
    };
}
