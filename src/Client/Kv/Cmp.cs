using Etcdserverpb;
using Google.Protobuf;

namespace Cairn.Client;

/// <summary>
/// Builds transaction guards. A missing key has version, create and mod revision 0 and no value,
/// so <c>Cmp.Version("k", CompareOp.Equal, 0)</c> means "k does not exist". A range compare
/// (a <see cref="KeyRange"/> with an end) must hold for every key in the range.
/// </summary>
public static class Cmp
{
    /// <summary>Compares the key's value with <paramref name="value"/> (UTF-8).</summary>
    public static Compare Value(KeyRange key, CompareOp op, string value) => Value(key, op, ByteString.CopyFromUtf8(value));

    /// <summary>Compares the key's value with <paramref name="value"/>.</summary>
    public static Compare Value(KeyRange key, CompareOp op, ByteString value) =>
        Make(key, op, Compare.Types.CompareTarget.Value, c => c.Value = value);

    /// <summary>Compares the key's version (number of puts since creation; 0 when missing).</summary>
    public static Compare Version(KeyRange key, CompareOp op, long version) =>
        Make(key, op, Compare.Types.CompareTarget.Version, c => c.Version = version);

    /// <summary>Compares the key's create revision.</summary>
    public static Compare CreateRevision(KeyRange key, CompareOp op, long revision) =>
        Make(key, op, Compare.Types.CompareTarget.Create, c => c.CreateRevision = revision);

    /// <summary>Compares the key's mod revision.</summary>
    public static Compare ModRevision(KeyRange key, CompareOp op, long revision) =>
        Make(key, op, Compare.Types.CompareTarget.Mod, c => c.ModRevision = revision);

    /// <summary>Compares the key's lease id.</summary>
    public static Compare Lease(KeyRange key, CompareOp op, long lease) =>
        Make(key, op, Compare.Types.CompareTarget.Lease, c => c.Lease = lease);

    private static Compare Make(KeyRange key, CompareOp op, Compare.Types.CompareTarget target, Action<Compare> operand)
    {
        var compare = new Compare
        {
            Key = key.Key,
            RangeEnd = key.RangeEnd,
            Target = target,
            Result = op switch
            {
                CompareOp.Equal => Compare.Types.CompareResult.Equal,
                CompareOp.Greater => Compare.Types.CompareResult.Greater,
                CompareOp.Less => Compare.Types.CompareResult.Less,
                CompareOp.NotEqual => Compare.Types.CompareResult.NotEqual,
                _ => throw new ArgumentOutOfRangeException(nameof(op)),
            },
        };
        operand(compare);
        return compare;
    }
}
