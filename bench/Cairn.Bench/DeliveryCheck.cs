namespace Cairn.Bench;

/// <summary>
/// What one watcher received compared with what the cluster holds: the watch-resume workload's
/// exactly-once check. Every key is put once, so the written revisions are the mod revisions of the
/// keys under the prefix, read after the writer stopped (a put whose answer was lost still counts if
/// it committed, which the writer alone could not know).
/// </summary>
/// <param name="Written">Revisions the cluster holds under the prefix.</param>
/// <param name="Delivered">Events the watcher received (duplicates included).</param>
/// <param name="Missed">Written revisions never delivered.</param>
/// <param name="Duplicated">Deliveries of a revision already delivered.</param>
/// <param name="OutOfOrder">Deliveries with a lower revision than the one before.</param>
/// <param name="Unexpected">Distinct delivered revisions that the cluster does not hold under the prefix.</param>
internal sealed record DeliveryCheck(int Written, int Delivered, int Missed, int Duplicated, int OutOfOrder, int Unexpected)
{
    /// <summary>True when every written revision was delivered once, in order, and nothing else was.</summary>
    public bool Ok => Missed == 0 && Duplicated == 0 && OutOfOrder == 0 && Unexpected == 0;

    /// <summary>Compares the revisions a watcher delivered, in delivery order, with the written ones.</summary>
    public static DeliveryCheck Compare(IReadOnlyList<long> delivered, IReadOnlyCollection<long> written)
    {
        var writtenSet = written as IReadOnlySet<long> ?? written.ToHashSet();
        var seen = new HashSet<long>();
        int duplicated = 0, outOfOrder = 0, unexpected = 0;
        for (var i = 0; i < delivered.Count; i++)
        {
            if (!seen.Add(delivered[i]))
                duplicated++;
            else if (!writtenSet.Contains(delivered[i]))
                unexpected++;
            // A duplicate of the previous event is counted once, as a duplicate.
            if (i > 0 && delivered[i] < delivered[i - 1])
                outOfOrder++;
        }

        var missed = writtenSet.Count(r => !seen.Contains(r));
        return new DeliveryCheck(writtenSet.Count, delivered.Count, missed, duplicated, outOfOrder, unexpected);
    }

    /// <inheritdoc />
    public override string ToString() =>
        $"{Delivered} delivered of {Written} written: {Missed} missed, {Duplicated} duplicated, {OutOfOrder} out of order, {Unexpected} unexpected";
}
