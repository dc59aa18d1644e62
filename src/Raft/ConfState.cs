namespace Cairn.Raft;

/// <summary>
/// A membership configuration: the voters (who elect and whose majority commits) and the learners
/// (who receive the log but never vote and never count in a quorum). Ids are kept sorted and unique.
/// </summary>
public sealed class ConfState
{
    /// <summary>Creates a configuration; the lists are copied, sorted and de-duplicated.</summary>
    /// <param name="voters">Voting members.</param>
    /// <param name="learners">Non-voting members; must not overlap <paramref name="voters"/>.</param>
    public ConfState(IEnumerable<ulong> voters, IEnumerable<ulong>? learners = null)
    {
        Voters = voters.Distinct().Order().ToArray();
        Learners = (learners ?? []).Distinct().Order().ToArray();
        if (Voters.Any(v => v == 0) || Learners.Any(l => l == 0)) throw new ArgumentException("member id 0 is reserved");
        if (Voters.Intersect(Learners).Any()) throw new ArgumentException("a member cannot be both voter and learner");
    }

    /// <summary>The empty configuration (a member that has not learned any).</summary>
    public static ConfState Empty { get; } = new([], []);

    /// <summary>Voting members, ascending.</summary>
    public IReadOnlyList<ulong> Voters { get; }
    /// <summary>Learners, ascending.</summary>
    public IReadOnlyList<ulong> Learners { get; }

    /// <summary>True if both lists are equal.</summary>
    public bool SameAs(ConfState other) => Voters.SequenceEqual(other.Voters) && Learners.SequenceEqual(other.Learners);

    /// <inheritdoc />
    public override string ToString() => $"voters=[{string.Join(',', Voters)}] learners=[{string.Join(',', Learners)}]";
}
