namespace Cairn.Raft.Tests.Simulation;

/// <summary>Knobs of one simulated run (all randomness still comes from the seed).</summary>
internal sealed record SimOptions
{
    public int Members { get; init; } = 3;
    public int Spares { get; init; } = 2;
    public int ChaosTicks { get; init; } = 300;
    public int LivenessTicks { get; init; } = 1000;
    public int ElectionTick { get; init; } = 10;
    public int HeartbeatTick { get; init; } = 1;
    public bool Faults { get; init; } = true;
    public bool Membership { get; init; } = true;
    public bool Snapshots { get; init; } = true;
}
