namespace Cairn.Raft;

internal sealed partial class Raft
{
    private ProposeStatus StepLeader(Message m)
    {
        switch (m.Type)
        {
            case MessageType.Beat:
                BroadcastHeartbeat(_readOnly.LastContext);
                return ProposeStatus.Accepted;
            case MessageType.CheckQuorum:
                if (!Tracker.QuorumActive(Id))
                {
                    // Partitioned from a majority for a whole election timeout: a new leader may exist by now.
                    // Stepping down stops us from serving stale reads and lets clients find the real leader.
                    BecomeFollower(Term, 0);
                }
                foreach (var (id, p) in Tracker.Progress) p.RecentActive = id == Id;
                return ProposeStatus.Accepted;
            case MessageType.Propose:
                return Propose(m);
            case MessageType.ReadIndex:
                return LeaderReadIndex(m);
        }

        var pr = Tracker.Get(m.From);
        if (pr is null) return ProposeStatus.Accepted;
        switch (m.Type)
        {
            case MessageType.AppendResponse:
                HandleAppendResponse(m, pr);
                break;
            case MessageType.HeartbeatResponse:
                HandleHeartbeatResponse(m, pr);
                break;
            case MessageType.SnapshotStatus:
                if (pr.State != ProgressState.Snapshot) break;
                // Success or failure, go back to probing: on success the probe starts right after the snapshot,
                // on failure from Match. Wait for the next heartbeat answer before probing.
                if (m.Reject) pr.BecomeSnapshot(0);
                pr.BecomeProbe();
                pr.MsgAppFlowPaused = true;
                break;
            case MessageType.Unreachable:
                // Optimistic replication to an unreachable member is pointless: fall back to probing.
                if (pr.State == ProgressState.Replicate) pr.BecomeProbe();
                break;
            case MessageType.TransferLeader:
                return HandleTransferLeader(m, pr);
        }
        return ProposeStatus.Accepted;
    }

    private ProposeStatus Propose(Message m)
    {
        if (m.Entries.Length == 0) return ProposeStatus.Invalid;
        if (Tracker.Get(Id) is null) return ProposeStatus.NotMember;
        if (LeadTransferee != 0) return ProposeStatus.TransferInProgress;
        var entries = new Entry[m.Entries.Length];
        var last = Log.LastIndex;
        var confIndex = PendingConfIndex;
        for (var i = 0; i < m.Entries.Length; i++)
        {
            var e = m.Entries[i];
            if (e.Type == EntryType.ConfChange)
            {
                // One change at a time: refuse while the previous one is not applied here (see ApplyConfChange).
                if (confIndex > Log.Applied) return ProposeStatus.ConfChangePending;
                confIndex = last + 1 + (ulong)i;
            }
            entries[i] = new Entry(last + 1 + (ulong)i, Term, e.Type, e.Data);
        }
        if (!IncreaseUncommittedSize(entries)) return ProposeStatus.UncommittedLimit;
        PendingConfIndex = confIndex;
        Log.Append(entries);
        BroadcastAppend();
        return ProposeStatus.Accepted;
    }

    private bool IncreaseUncommittedSize(ReadOnlySpan<Entry> entries)
    {
        ulong size = 0;
        foreach (var e in entries) size += (ulong)e.Data.Length;
        var max = _config.MaxUncommittedEntriesSize;
        // Always accept when nothing is uncommitted, so one oversized proposal cannot wedge the leader.
        if (max != 0 && _uncommittedSize > 0 && size > 0 && _uncommittedSize + size > max) return false;
        _uncommittedSize += size;
        return true;
    }

    /// <summary>Recomputes the commit index from the voters' matches; on a first commit in our term, serves waiting reads.</summary>
    private bool MaybeCommit()
    {
        if (!Log.MaybeCommit(Tracker.Committed(), Term)) return false;
        if (_pendingReadIndex.Count > 0 && CommittedEntryInCurrentTerm)
        {
            var waiting = _pendingReadIndex.ToArray();
            _pendingReadIndex.Clear();
            foreach (var r in waiting) LeaderReadIndex(r);
        }
        return true;
    }

    private bool CommittedEntryInCurrentTerm => Log.TermOrZero(Log.Committed) == Term;

    private void HandleAppendResponse(Message m, Progress pr)
    {
        pr.RecentActive = true;
        if (m.Reject)
        {
            // Fast backtracking: the follower hinted (RejectHint, LogTerm) = the last entry of its log at or
            // below our probe whose term is ≤ the probe's term. Any of our entries after the last one with
            // term ≤ LogTerm cannot match, so jump there directly. Example: follower t1 t1 t2 t2 (hint 4,t2),
            // leader t1 t1 t3 t3 t3 t3 → probe at 2 next, not 5 then 4 then 3.
            var next = m.RejectHint;
            if (m.LogTerm > 0) next = Log.FindConflictByTerm(m.RejectHint, m.LogTerm).Index;
            if (pr.MaybeDecrTo(m.Index, next))
            {
                if (pr.State == ProgressState.Replicate) pr.BecomeProbe();
                SendAppend(m.From, pr, sendIfEmpty: true);
            }
            return;
        }

        var wasPaused = pr.IsPaused;
        if (!pr.MaybeUpdate(m.Index)) return;
        switch (pr.State)
        {
            case ProgressState.Probe:
                pr.BecomeReplicate();
                break;
            case ProgressState.Snapshot when pr.Match + 1 >= Log.FirstIndex:
                // The follower caught up past our compaction point (snapshot applied, or it was not needed).
                pr.BecomeProbe();
                pr.BecomeReplicate();
                break;
            case ProgressState.Replicate:
                pr.Inflights.FreeLE(m.Index);
                pr.MsgAppFlowPaused = pr.Inflights.Full;
                break;
        }
        if (MaybeCommit())
        {
            BroadcastAppend();
        }
        else if (wasPaused)
        {
            SendAppend(m.From, pr, sendIfEmpty: true);
        }
        // Fill the freed pipeline window.
        while (SendAppend(m.From, pr, sendIfEmpty: false)) { }
        if (m.From == LeadTransferee && pr.Match == Log.LastIndex)
        {
            SendTimeoutNow(m.From);
        }
    }

    private void HandleHeartbeatResponse(Message m, Progress pr)
    {
        pr.RecentActive = true;
        // Unpause and send (possibly an empty append): this recovers a follower whose appends or acks were all
        // lost (full inflights), and brings a caught-up follower in Probe state back to Replicate.
        pr.MsgAppFlowPaused = false;
        if (pr.Match < Log.LastIndex || pr.State == ProgressState.Probe) SendAppend(m.From, pr, sendIfEmpty: true);
        if (m.Context.IsEmpty) return;
        var acks = _readOnly.Ack(m.From, m.Context);
        if (acks is null) return;
        if (MajorityQuorum.Vote(Tracker.Voters, id => id == Id || acks.Contains(id) ? true : null) != VoteResult.Won) return;
        foreach (var r in _readOnly.Release(m.Context)) RespondToRead(r.Message, r.Index);
    }

    private ProposeStatus LeaderReadIndex(Message m)
    {
        if (Tracker.IsSingleton)
        {
            RespondToRead(m, Log.Committed);
            return ProposeStatus.Accepted;
        }
        if (!CommittedEntryInCurrentTerm)
        {
            // Our commit index may lag the previous leader's until our no-op commits: a read served at
            // it could miss acknowledged writes. Hold the request until then.
            _pendingReadIndex.Add(m);
            return ProposeStatus.Accepted;
        }
        // Record the commit index now, then confirm we are still leader with a heartbeat round carrying
        // the context. No log write is involved.
        _readOnly.Add(Log.Committed, m);
        _readOnly.Ack(Id, m.Context);
        BroadcastHeartbeat(m.Context);
        return ProposeStatus.Accepted;
    }

    private void RespondToRead(Message request, ulong index)
    {
        if (request.From == 0 || request.From == Id)
            ReadStates.Add(new ReadState(index, request.Context));
        else
            Send(new Message { To = request.From, Type = MessageType.ReadIndexResponse, Index = index, Context = request.Context });
    }

    private ProposeStatus HandleTransferLeader(Message m, Progress pr)
    {
        // For this message From is the transfer target, not the sender.
        var target = m.From;
        if (pr.IsLearner) return ProposeStatus.Invalid;
        if (LeadTransferee != 0)
        {
            if (LeadTransferee == target) return ProposeStatus.Accepted;
            AbortLeaderTransfer();
        }
        if (target == Id) return ProposeStatus.Accepted;
        // The transfer must finish within an election timeout (checked in TickHeartbeat).
        _electionElapsed = 0;
        LeadTransferee = target;
        if (pr.Match == Log.LastIndex) SendTimeoutNow(target);
        else SendAppend(target, pr, sendIfEmpty: true);
        return ProposeStatus.Accepted;
    }

    private void SendTimeoutNow(ulong to) => Send(new Message { To = to, Type = MessageType.TimeoutNow });

    private void AbortLeaderTransfer() => LeadTransferee = 0;

    internal void BroadcastAppend()
    {
        foreach (var (id, pr) in Tracker.Progress)
            if (id != Id) SendAppend(id, pr, sendIfEmpty: true);
    }

    private void BroadcastHeartbeat(ReadOnlyMemory<byte> context)
    {
        foreach (var (id, pr) in Tracker.Progress)
        {
            if (id == Id) continue;
            // Never tell a follower to commit past what it is known to hold: it may not have those entries,
            // or hold conflicting ones from an older term.
            Send(new Message
            {
                To = id,
                Type = MessageType.Heartbeat,
                Commit = Math.Min(pr.Match, Log.Committed),
                Context = context,
            });
        }
    }

    /// <summary>Sends entries from pr.Next (or a snapshot if they are compacted). Returns whether it sent anything.</summary>
    private bool SendAppend(ulong to, Progress pr, bool sendIfEmpty)
    {
        if (pr.IsPaused) return false;
        var prevIndex = pr.Next - 1;
        var haveTerm = Log.TryTerm(prevIndex, out var prevTerm);
        Entry[] entries = [];
        var entriesStatus = StorageStatus.Ok;
        // With a full window only an empty append goes out: if every inflight message (or its ack) was lost,
        // this one is answered (accepted or rejected) and either answer clears the window.
        if (haveTerm && !(pr.State == ProgressState.Replicate && pr.Inflights.Full))
            entriesStatus = Log.Entries(pr.Next, _config.MaxSizePerMsg, out entries);
        if (entries.Length == 0 && !sendIfEmpty && haveTerm && entriesStatus == StorageStatus.Ok) return false;
        if (!haveTerm || entriesStatus != StorageStatus.Ok) return SendSnapshot(to, pr);
        ulong bytes = 0;
        foreach (var e in entries) bytes += (ulong)e.Size;
        Send(new Message
        {
            To = to,
            Type = MessageType.Append,
            Index = prevIndex,
            LogTerm = prevTerm,
            Entries = entries,
            Commit = Log.Committed,
        });
        pr.SentEntries(entries.Length, bytes);
        return true;
    }

    private bool SendSnapshot(ulong to, Progress pr)
    {
        // Only send a (possibly huge) snapshot to a member we recently heard from.
        if (!pr.RecentActive) return false;
        var snapshot = Log.Snapshot;
        if (snapshot.IsEmpty) return false;
        Send(new Message { To = to, Type = MessageType.Snapshot, Snapshot = snapshot });
        pr.BecomeSnapshot(snapshot.Metadata.Index);
        return true;
    }
}
