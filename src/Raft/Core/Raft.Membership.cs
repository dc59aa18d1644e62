namespace Cairn.Raft;

internal sealed partial class Raft
{
    /// <summary>
    /// Applies a committed configuration change (called by the application when it applies the entry).
    /// Safety rule (single-server changes, thesis §4.1): consecutive configurations differ by at most one
    /// voter, so any majority of the old one and any majority of the new one intersect; two leaders can then
    /// never be elected in one term across a change, and a committed entry stays on a majority of every
    /// configuration. That holds only if changes never overlap: the leader refuses a new change while the
    /// previous one (PendingConfIndex) is unapplied here, and a new leader must first apply its term's no-op
    /// (see BecomeLeader). A configuration takes effect on each member when applied, as in etcd.
    /// </summary>
    public ConfState ApplyConfChange(ConfChange cc)
    {
        var voters = Tracker.Voters.ToList();
        var learners = Tracker.Learners.ToList();
        switch (cc.Type)
        {
            case ConfChangeType.AddVoter:
                learners.Remove(cc.MemberId);
                if (!voters.Contains(cc.MemberId)) voters.Add(cc.MemberId);
                break;
            case ConfChangeType.AddLearner:
                // Demoting a voter would need joint consensus; ignore it.
                if (!voters.Contains(cc.MemberId) && !learners.Contains(cc.MemberId)) learners.Add(cc.MemberId);
                break;
            case ConfChangeType.RemoveMember:
                voters.Remove(cc.MemberId);
                learners.Remove(cc.MemberId);
                break;
        }
        var cs = new ConfState(voters, learners);
        SwitchToConfig(cs);
        return cs;
    }

    /// <summary>Installs the configuration <paramref name="cs"/> (from a conf change or a snapshot the application restored).</summary>
    public void SwitchToConfig(ConfState cs)
    {
        Tracker.SetConfig(cs, Log.LastIndex + 1);
        if (Role != RaftRole.Leader) return;
        if (!Tracker.IsVoter(Id))
        {
            // Removed (the only way to stop being a voter here): step down without campaigning, since we are
            // not promotable. The remaining voters elect a leader after an election timeout.
            BecomeFollower(Term, 0);
            return;
        }
        if (LeadTransferee != 0 && Tracker.Get(LeadTransferee) is null) AbortLeaderTransfer();
        // The quorum changed: a removal may commit entries at once; new members need their first append.
        if (MaybeCommit()) BroadcastAppend();
        else
            foreach (var (id, pr) in Tracker.Progress)
                if (id != Id && pr.Match == 0 && pr.State == ProgressState.Probe) SendAppend(id, pr, sendIfEmpty: true);
    }
}
