using Etcdserverpb;
using Mvccpb;

namespace Cairn.Mvcc;

/// <summary>
/// etcd's Range sort comparators (kvSortByKey/Version/Create/Mod/Value in etcdserver/apply.go),
/// optionally wrapped in Go's <c>sort.Reverse</c>. Meant for <see cref="GoSort"/>, which only asks
/// whether <c>Compare(x, y) &lt; 0</c> (Go's <c>Less</c>); a struct so the sort neither boxes nor allocates.
/// </summary>
internal readonly struct RangeSortComparer(RangeRequest.Types.SortTarget target, bool descend) : IComparer<KeyValue>
{
    /// <summary>Negative when <paramref name="x"/> sorts first; zero on a tie (which GoSort leaves to its algorithm).</summary>
    public int Compare(KeyValue? x, KeyValue? y)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        // sort.Reverse's Less(i, j) is the wrapped Less(j, i).
        return descend ? Ascending(y, x) : Ascending(x, y);
    }

    private int Ascending(KeyValue x, KeyValue y) => target switch
    {
        // etcd's Less for the numbers is (x - y) < 0 with Go's wrapping subtraction; the sign of the
        // unchecked difference is the same answer (revisions and versions are never near overflow).
        RangeRequest.Types.SortTarget.Version => Sign(unchecked(x.Version - y.Version)),
        RangeRequest.Types.SortTarget.Create => Sign(unchecked(x.CreateRevision - y.CreateRevision)),
        RangeRequest.Types.SortTarget.Mod => Sign(unchecked(x.ModRevision - y.ModRevision)),
        RangeRequest.Types.SortTarget.Value => x.Value.Span.SequenceCompareTo(y.Value.Span),
        _ => x.Key.Span.SequenceCompareTo(y.Key.Span),
    };

    private static int Sign(long difference) => Math.Sign(difference);
}
