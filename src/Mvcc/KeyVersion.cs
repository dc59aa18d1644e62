using Mvccpb;

namespace Cairn.Mvcc;

/// <summary>
/// One change of one key: its revision {main, sub} and the published <see cref="KeyValue"/>.
/// </summary>
/// <remarks>
/// A tombstone (delete) is a KeyValue with only Key and ModRevision set; it is recognised by
/// CreateRevision == 0, which no live version can have (the first writable revision is 2).
/// The same instance is stored in the key index and in the event log, and handed out to
/// readers: it is never mutated after publication.
/// </remarks>
internal readonly struct KeyVersion
{
    public KeyVersion(long main, int sub, KeyValue kv)
    {
        Main = main;
        Sub = sub;
        Kv = kv;
    }

    /// <summary>The write transaction's revision.</summary>
    public readonly long Main;

    /// <summary>The index of this change inside its transaction.</summary>
    public readonly int Sub;

    /// <summary>The value (or tombstone) written.</summary>
    public readonly KeyValue Kv;

    public bool IsTombstone => Kv.CreateRevision == 0;

    public override string ToString() => $"{Main}.{Sub}{(IsTombstone ? "(t)" : "")}";
}
