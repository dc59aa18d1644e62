namespace Cairn.Raft;

/// <summary>The leader's view of one member's replication (a copy; see <see cref="RaftNode.GetProgress"/>).</summary>
/// <param name="Id">Member id.</param>
/// <param name="Match">Highest index known durably replicated on the member.</param>
/// <param name="Next">Next index the leader will send.</param>
/// <param name="State">Probe, Replicate or Snapshot.</param>
/// <param name="IsLearner">The member is a learner.</param>
/// <param name="RecentActive">Heard from during the current check-quorum interval.</param>
/// <param name="InflightMessages">Unacknowledged append messages.</param>
public readonly record struct MemberProgress(ulong Id, ulong Match, ulong Next, ProgressState State, bool IsLearner, bool RecentActive, int InflightMessages);
