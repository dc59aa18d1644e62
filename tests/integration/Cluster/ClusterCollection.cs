namespace Cairn.IntegrationTests.Cluster;

/// <summary>
/// Every cluster test is in this collection: they run one at a time (three or four member processes each on a
/// two-core machine), and never in parallel with each other.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ClusterCollection
{
    /// <summary>The collection's name.</summary>
    public const string Name = "Cairn cluster (real member processes)";
}
