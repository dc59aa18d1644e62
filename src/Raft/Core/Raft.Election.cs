namespace Cairn.Raft;

internal sealed partial class Raft
{
    private void Hup(bool transfer)
    {
        if (Role == RaftRole.Leader) return;
        if (!Promotable) return;
        // A member that has not applied a committed configuration change does not know the configuration it
        // would lead; campaigning with a stale one could count the wrong majority. Wait until it is applied.
        if (HasUnappliedConfChanges()) return;
        if (_config.PreVote && !transfer) Campaign(preVote: true, transfer: false);
        else Campaign(preVote: false, transfer: transfer);
    }

    private bool HasUnappliedConfChanges()
    {
        if (Log.Applied >= Log.Committed) return false;
        var low = Math.Max(Log.Applied + 1, Log.FirstIndex);
        if (Log.Slice(low, Log.Committed + 1, ulong.MaxValue, out var entries) != StorageStatus.Ok) return false;
        foreach (var e in entries)
            if (e.Type == EntryType.ConfChange) return true;
        return false;
    }

    private void Campaign(bool preVote, bool transfer)
    {
        ulong term;
        MessageType voteType;
        if (preVote)
        {
            BecomePreCandidate();
            voteType = MessageType.PreVote;
            // Ask for the term we would use, without taking it yet.
            term = Term + 1;
        }
        else
        {
            BecomeCandidate();
            voteType = MessageType.Vote;
            term = Term;
        }
        // Our own vote: for a real campaign it is part of the hard state (Vote = Id), persisted before any
        // vote request goes out (they are after-persist messages).
        if (Poll(Id, granted: true) == VoteResult.Won)
        {
            // A single-voter configuration wins at once.
            if (preVote) Campaign(preVote: false, transfer);
            else BecomeLeader();
            return;
        }
        foreach (var id in Tracker.Voters)
        {
            if (id == Id) continue;
            Send(new Message
            {
                Type = voteType,
                To = id,
                Term = term,
                Index = Log.LastIndex,
                LogTerm = Log.LastTerm,
                Context = transfer ? TransferContext : default,
            });
        }
    }

    private VoteResult Poll(ulong id, bool granted)
    {
        Tracker.RecordVote(id, granted);
        return Tracker.TallyVotes();
    }

    private void HandleVoteRequest(Message m)
    {
        // We can vote for m.From if we already did this term, or have not voted and know no leader; a pre-vote
        // for a future term is judged as if we had moved there (we would have no vote in it yet).
        var canVote = Vote == m.From
            || (Vote == 0 && Lead == 0)
            || (m.Type == MessageType.PreVote && m.Term > Term);
        var responseType = m.Type == MessageType.Vote ? MessageType.VoteResponse : MessageType.PreVoteResponse;
        // Election restriction (§5.4.1): only vote for a candidate whose log is at least as up to date.
        if (canVote && Log.IsUpToDate(m.Index, m.LogTerm))
        {
            // The granted response carries the candidate's term, so a pre-candidate can tell it apart
            // from stale answers, and a candidate counts it in the right election.
            Send(new Message { To = m.From, Term = m.Term, Type = responseType });
            if (m.Type == MessageType.Vote)
            {
                // Granting a vote resets our timer: give the candidate a chance to win before we compete.
                _electionElapsed = 0;
                Vote = m.From;
            }
        }
        else
        {
            Send(new Message { To = m.From, Term = Term, Type = responseType, Reject = true });
        }
    }

    private ProposeStatus StepCandidate(Message m)
    {
        var myResponse = Role == RaftRole.PreCandidate ? MessageType.PreVoteResponse : MessageType.VoteResponse;
        switch (m.Type)
        {
            case MessageType.Propose:
                return ProposeStatus.NoLeader;
            case MessageType.ReadIndex:
            case MessageType.TransferLeader:
                return ProposeStatus.NoLeader;
            case MessageType.Append:
                BecomeFollower(m.Term, m.From);
                HandleAppend(m);
                break;
            case MessageType.Heartbeat:
                BecomeFollower(m.Term, m.From);
                HandleHeartbeat(m);
                break;
            case MessageType.Snapshot:
                BecomeFollower(m.Term, m.From);
                HandleSnapshot(m);
                break;
            case MessageType.VoteResponse:
            case MessageType.PreVoteResponse:
                if (m.Type != myResponse) break;
                // A pre-vote answer for a term other than the one we asked about is stale.
                if (m.Type == MessageType.PreVoteResponse && !m.Reject && m.Term != Term + 1) break;
                switch (Poll(m.From, !m.Reject))
                {
                    case VoteResult.Won:
                        if (Role == RaftRole.PreCandidate)
                        {
                            Campaign(preVote: false, transfer: false);
                        }
                        else
                        {
                            BecomeLeader();
                            BroadcastAppend();
                        }
                        break;
                    case VoteResult.Lost:
                        // A rejecting response with a higher term already made us follower above.
                        BecomeFollower(Term, 0);
                        break;
                }
                break;
            case MessageType.TimeoutNow:
                // Only followers take part in transfers.
                break;
        }
        return ProposeStatus.Accepted;
    }
}
