namespace Cairn.Raft.Tests.Simulation;

/// <summary>
/// One simulated member: its "disk" (a <see cref="MemoryStorage"/> written only when a Ready is persisted, so a
/// crash loses exactly what was not fsynced), its running core (null while crashed) and its state machine.
/// </summary>
internal sealed class SimNode(ulong id)
{
    public ulong Id { get; } = id;
    public MemoryStorage Disk { get; set; } = new();
    public RaftNode? Raft { get; set; }
    public bool Started { get; set; }
    public long RestartAt { get; set; } = -1;
    public ulong LastLeaderTerm { get; set; }

    // The state machine: applied index and a running hash of every applied entry.
    public ulong Applied { get; set; }
    public ulong StateHash { get; set; }
    public List<ulong> AppliedClientIds { get; } = [];

    public bool Alive => Raft is not null;
}
