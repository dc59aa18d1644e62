namespace Cairn.Mvcc;

public sealed partial class KvStore
{
    /// <summary>Writes the whole state (every retained version, revision, compact revision) to <paramref name="output"/>.</summary>
    public void WriteSnapshot(Stream output) => throw new NotImplementedException();

    /// <summary>Rebuilds a store from <see cref="WriteSnapshot"/>'s bytes; its own snapshot is byte-identical.</summary>
    public static KvStore ReadSnapshot(Stream input, MvccOptions? options = null) => throw new NotImplementedException();
}
