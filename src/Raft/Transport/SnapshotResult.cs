namespace Cairn.Raft.Transport;

/// <summary>The receiver's answer at the end of a snapshot transfer.</summary>
internal enum SnapshotResult : byte
{
    Applied = 0,
    HandlerFailed = 1,
    Corrupt = 2,
}
