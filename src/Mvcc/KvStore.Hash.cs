namespace Cairn.Mvcc;

public sealed partial class KvStore
{
    /// <summary>Hash of all key versions with revision ≤ <paramref name="revision"/> (0: current) above the compaction (HashKV).</summary>
    public uint HashKV(long revision, out long compactRevision, out long hashRevision) => throw new NotImplementedException();
}
