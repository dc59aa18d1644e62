namespace Cairn.Raft;

internal sealed partial class Raft
{
    private ProposeStatus StepFollower(Message m)
    {
        switch (m.Type)
        {
            case MessageType.Propose:
                if (Lead == 0) return ProposeStatus.NoLeader;
                if (_config.DisableProposalForwarding) return ProposeStatus.NotLeader;
                m.To = Lead;
                Send(m);
                break;
            case MessageType.Append:
                _electionElapsed = 0;
                Lead = m.From;
                HandleAppend(m);
                break;
            case MessageType.Heartbeat:
                _electionElapsed = 0;
                Lead = m.From;
                HandleHeartbeat(m);
                break;
            case MessageType.Snapshot:
                _electionElapsed = 0;
                Lead = m.From;
                HandleSnapshot(m);
                break;
            case MessageType.TransferLeader:
                if (Lead == 0) return ProposeStatus.NoLeader;
                m.To = Lead;
                Send(m);
                break;
            case MessageType.TimeoutNow:
                // The leader picked us: campaign at once, skipping pre-vote, with the transfer marker so voters
                // ignore their leader lease (they know the request comes from the leader's choice).
                Hup(transfer: true);
                break;
            case MessageType.ReadIndex:
                if (Lead == 0) return ProposeStatus.NoLeader;
                m.To = Lead;
                Send(m);
                break;
            case MessageType.ReadIndexResponse:
                ReadStates.Add(new ReadState(m.Index, m.Context));
                break;
        }
        return ProposeStatus.Accepted;
    }

    private void HandleAppend(Message m)
    {
        if (m.Index < Log.Committed)
        {
            // Everything up to our commit index matches the leader's log (Log Matching + Leader Completeness):
            // tell it where we are instead of re-checking.
            Send(new Message { To = m.From, Type = MessageType.AppendResponse, Index = Log.Committed });
            return;
        }
        if (Log.TryAppend(m.Index, m.LogTerm, m.Commit, m.Entries, out var lastNew))
        {
            Send(new Message { To = m.From, Type = MessageType.AppendResponse, Index = lastNew });
            return;
        }
        // Reject with a hint: our last entry at or below the probe whose term is ≤ the probe's term. The
        // leader then skips every index between, in both directions of divergence (see HandleAppendResponse).
        var (hintIndex, hintTerm) = Log.FindConflictByTerm(Math.Min(m.Index, Log.LastIndex), m.LogTerm);
        Send(new Message
        {
            To = m.From,
            Type = MessageType.AppendResponse,
            Index = m.Index,
            Reject = true,
            RejectHint = hintIndex,
            LogTerm = hintTerm,
        });
    }

    private void HandleHeartbeat(Message m)
    {
        // The leader sends min(our match, its commit), so this never exceeds what we hold.
        Log.CommitTo(Math.Min(m.Commit, Log.LastIndex));
        Send(new Message { To = m.From, Type = MessageType.HeartbeatResponse, Context = m.Context });
    }

    private void HandleSnapshot(Message m)
    {
        var snapshot = m.Snapshot!;
        if (Restore(snapshot))
            Send(new Message { To = m.From, Type = MessageType.AppendResponse, Index = Log.LastIndex });
        else
            Send(new Message { To = m.From, Type = MessageType.AppendResponse, Index = Log.Committed });
    }

    /// <summary>Installs a snapshot from the leader unless we already have its content committed.</summary>
    private bool Restore(Snapshot snapshot)
    {
        var meta = snapshot.Metadata;
        if (meta.Index <= Log.Committed) return false;
        if (Role != RaftRole.Follower)
        {
            // Only a leader of our term sends snapshots, and its message made us follower already.
            BecomeFollower(Term + 1, 0);
            return false;
        }
        // etcd refuses a snapshot whose configuration lacks the recipient. We accept it: the leader only sends
        // snapshots to members of its own configuration, which may be newer than the snapshot's (a member
        // that joins after the last snapshot was taken); the entries after the snapshot carry the change
        // that added us, and until we apply it we are simply not promotable.
        var cs = meta.ConfState;
        if (Log.MatchTerm(meta.Index, meta.Term))
        {
            // We already hold the snapshot's last entry: just commit up to it (fast-forward) and keep our log.
            Log.CommitTo(meta.Index);
            return false;
        }
        Log.Restore(snapshot);
        Tracker.SetConfig(cs, Log.LastIndex + 1);
        Tracker.ResetProgress(Id, Log.LastIndex, Log.LastIndex);
        return true;
    }
}
