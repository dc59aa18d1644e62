namespace Cairn.Raft;

/// <summary>
/// The current configuration (voters, learners) with one <see cref="Progress"/> per member, plus the votes
/// of an election in progress. Members are iterated in ascending id order so that every decision is a
/// function of the state, not of hash-table order.
/// </summary>
internal sealed class ProgressTracker
{
    private readonly Dictionary<ulong, Progress> _progress = [];
    // The same progresses in ascending id order, rebuilt on configuration changes; iterated on every broadcast.
    private readonly List<KeyValuePair<ulong, Progress>> _ordered = [];
    private readonly Dictionary<ulong, bool> _votes = [];
    private readonly List<ulong> _voters = [];
    private readonly List<ulong> _learners = [];
    private readonly int _maxInflight;
    private readonly ulong _maxInflightBytes;

    public ProgressTracker(int maxInflight, ulong maxInflightBytes)
    {
        _maxInflight = maxInflight;
        _maxInflightBytes = maxInflightBytes;
    }

    public IReadOnlyList<ulong> Voters => _voters;
    public IReadOnlyList<ulong> Learners => _learners;
    /// <summary>Members and their progress in ascending id order.</summary>
    public List<KeyValuePair<ulong, Progress>> Progress => _ordered;

    public ConfState ConfState => new(_voters, _learners);

    public bool IsVoter(ulong id) => _voters.BinarySearch(id) >= 0;
    public bool IsLearner(ulong id) => _learners.BinarySearch(id) >= 0;
    public bool IsSingleton => _voters.Count == 1;

    public Progress? Get(ulong id) => _progress.TryGetValue(id, out var p) ? p : null;

    /// <summary>Replaces the configuration; members that stay keep their progress.</summary>
    public void SetConfig(ConfState cs, ulong nextIndex)
    {
        _voters.Clear();
        _voters.AddRange(cs.Voters);
        _learners.Clear();
        _learners.AddRange(cs.Learners);
        foreach (var id in _progress.Keys.ToArray())
            if (!IsVoter(id) && !IsLearner(id)) _progress.Remove(id);
        foreach (var id in cs.Voters.Concat(cs.Learners))
        {
            if (!_progress.TryGetValue(id, out var pr))
            {
                // A new member is presumed active so that check-quorum does not depose the leader before it answers.
                pr = new Progress(nextIndex, _maxInflight, _maxInflightBytes, IsLearner(id)) { RecentActive = true };
                _progress[id] = pr;
            }
            pr.IsLearner = IsLearner(id);
        }
        _ordered.Clear();
        foreach (var id in _progress.Keys.Order()) _ordered.Add(new(id, _progress[id]));
    }

    public void ResetProgress(ulong selfId, ulong lastIndex, ulong selfMatch)
    {
        foreach (var (id, pr) in _ordered)
        {
            pr.BecomeProbe();
            pr.Match = id == selfId ? selfMatch : 0;
            pr.Next = lastIndex + 1;
            pr.RecentActive = id == selfId;
        }
    }

    /// <summary>Largest index durably replicated on a majority of voters.</summary>
    public ulong Committed()
    {
        // Same arithmetic as MajorityQuorum.CommittedIndex, without a closure: this runs on every acknowledgement.
        var n = _voters.Count;
        if (n == 0) return ulong.MaxValue;
        Span<ulong> acked = n <= 16 ? stackalloc ulong[n] : new ulong[n];
        for (var i = 0; i < n; i++) acked[i] = _progress.TryGetValue(_voters[i], out var p) ? p.Match : 0;
        acked.Sort();
        return acked[n - MajorityQuorum.Size(n)];
    }

    /// <summary>True if a majority of voters was heard from recently (the leader counts itself as active).</summary>
    public bool QuorumActive(ulong selfId) =>
        MajorityQuorum.Vote(_voters, id => id == selfId || (_progress.TryGetValue(id, out var p) && p.RecentActive) ? true : null) == VoteResult.Won;

    public void ResetVotes() => _votes.Clear();

    public void RecordVote(ulong id, bool granted) => _votes.TryAdd(id, granted);

    public VoteResult TallyVotes() => MajorityQuorum.Vote(_voters, id => _votes.TryGetValue(id, out var v) ? v : null);
}
