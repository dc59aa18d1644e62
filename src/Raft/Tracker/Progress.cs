namespace Cairn.Raft;

/// <summary>
/// The leader's view of one member: <see cref="Match"/> is the highest index known replicated (durably) there,
/// <see cref="Next"/> the next index to send. Invariant: Match &lt; Next. The state machine:
/// Probe →(append accepted)→ Replicate →(rejection or unreachable)→ Probe; any →(needs compacted entries)→ Snapshot
/// →(snapshot applied or failed)→ Probe.
/// </summary>
internal sealed class Progress
{
    public Progress(ulong next, int maxInflight, ulong maxInflightBytes, bool isLearner)
    {
        Next = next;
        Inflights = new Inflights(maxInflight, maxInflightBytes);
        IsLearner = isLearner;
    }

    public ulong Match { get; set; }
    public ulong Next { get; set; }
    public ProgressState State { get; private set; } = ProgressState.Probe;
    /// <summary>In Snapshot state: index of the snapshot being sent.</summary>
    public ulong PendingSnapshot { get; private set; }
    /// <summary>Heard from since the last check-quorum round.</summary>
    public bool RecentActive { get; set; }
    /// <summary>
    /// Sending is paused: in Probe state a probe is outstanding; in Replicate state the inflight window filled up.
    /// A heartbeat answer clears it, so a leader whose appends (or their answers) were all lost sends one more
    /// append per heartbeat and recovers, instead of waiting forever for acknowledgements that will not come.
    /// </summary>
    public bool MsgAppFlowPaused { get; set; }
    public Inflights Inflights { get; }
    public bool IsLearner { get; set; }

    private void ResetState(ProgressState state)
    {
        MsgAppFlowPaused = false;
        PendingSnapshot = 0;
        State = state;
        Inflights.Reset();
    }

    public void BecomeProbe()
    {
        if (State == ProgressState.Snapshot)
        {
            // The snapshot (if it arrived) covers up to PendingSnapshot: probe right after it.
            var pending = PendingSnapshot;
            ResetState(ProgressState.Probe);
            Next = Math.Max(Match + 1, pending + 1);
        }
        else
        {
            ResetState(ProgressState.Probe);
            Next = Match + 1;
        }
    }

    public void BecomeReplicate()
    {
        ResetState(ProgressState.Replicate);
        Next = Match + 1;
    }

    public void BecomeSnapshot(ulong snapshotIndex)
    {
        ResetState(ProgressState.Snapshot);
        PendingSnapshot = snapshotIndex;
    }

    /// <summary>Records an append sent with <paramref name="entries"/> entries of <paramref name="bytes"/> bytes.</summary>
    public void SentEntries(int entries, ulong bytes)
    {
        switch (State)
        {
            case ProgressState.Replicate:
                if (entries > 0)
                {
                    Next += (ulong)entries;
                    Inflights.Add(Next - 1, bytes);
                }
                MsgAppFlowPaused = Inflights.Full;
                break;
            case ProgressState.Probe:
                // Any append in Probe state is a probe: one at a time.
                MsgAppFlowPaused = true;
                break;
            default:
                throw new InvalidOperationException($"sending entries in state {State}");
        }
    }

    /// <summary>An acceptance of index <paramref name="n"/>: returns false if it is stale (not new information).</summary>
    public bool MaybeUpdate(ulong n)
    {
        var updated = false;
        if (Match < n)
        {
            Match = n;
            updated = true;
            MsgAppFlowPaused = false;
        }
        Next = Math.Max(Next, n + 1);
        return updated;
    }

    /// <summary>
    /// A rejection of the append after <paramref name="rejected"/>, with the follower's hint of where its log could
    /// match (<paramref name="matchHint"/>, already refined by term on the leader). Returns false if stale.
    /// </summary>
    public bool MaybeDecrTo(ulong rejected, ulong matchHint)
    {
        if (State == ProgressState.Replicate)
        {
            // Rejections of indexes at or below Match are stale (reordered): Match is durable on the follower.
            if (rejected <= Match) return false;
            Next = Match + 1;
            return true;
        }
        // In Probe only the answer to the outstanding probe (sent at Next - 1) counts.
        if (Next - 1 != rejected) return false;
        Next = Math.Max(Math.Min(rejected, matchHint + 1), Match + 1);
        MsgAppFlowPaused = false;
        return true;
    }

    public bool IsPaused => State switch
    {
        ProgressState.Probe => MsgAppFlowPaused,
        ProgressState.Replicate => MsgAppFlowPaused,
        _ => true,
    };

    public override string ToString() => $"{State} match={Match} next={Next} inflight={Inflights.Count}";
}
