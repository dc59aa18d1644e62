using Cairn.Raft;
using Cairn.Raft.Diagnostics;


namespace Cairn.Node.Replication;

public sealed partial class RaftConsensus
{
    // The order below is the contract written on Ready: immediate messages, persist (snapshot,
    // entries, hard state; one fsync), messages that promise durability, apply, reads, Advance.
    // Immediate messages go first when there is an fsync to overlap with (the leader's parallel
    // append) or much to apply (followers wait for the commit index to answer their own clients).
    // Otherwise, typically the leader's Ready that commits one write, applying first answers the
    // waiter before the commit-index updates to followers are written (Ready allows sending them
    // at any time; per-peer order is unchanged).
    private const int ApplyBeforeSendLimit = 4;

    private void ProcessReady(Ready ready)
    {
        if (ready.SoftState is { } soft)
        {
            var previous = Volatile.Read(ref _leaderId);
            Volatile.Write(ref _leaderId, soft.Leader);
            if (previous != soft.Leader)
                ConsensusLog.LeaderChanged(_logger, soft.Leader, _node.Term, soft.Role.ToString());
        }

        var sendFirst = ready.MustSync || ready.Snapshot is not null || ready.CommittedEntries.Count > ApplyBeforeSendLimit;
        if (sendFirst)
            Send(ready.Messages);

        if (ready.Snapshot is { } snapshot)
            PersistSnapshot(snapshot);
        if (ready.Entries.Count > 0 || ready.HardState is not null)
        {
            _wal.Append(ready.HardState, ready.Entries is Entry[] array ? array : [.. ready.Entries]);
            if (ready.MustSync)
                _wal.Sync();
            if (LatencyTrace.Enabled && ready.Entries.Count > 0)
                LatencyTrace.Mark(TraceStage.Synced, ready.Entries[^1].Index);
        }

        _storage.Append(ready.Entries);
        if (ready.HardState is { } hard)
        {
            _storage.SetHardState(hard);
            Volatile.Write(ref _term, hard.Term);
            Volatile.Write(ref _commit, hard.Commit);
        }

        if (sendFirst)
            Send(ready.MessagesAfterPersist);

        if (ready.Snapshot is { } restored)
        {
            _machine.RestoreSnapshot(restored.Metadata.Index, restored.Data);
            _lastSnapshotIndex = restored.Metadata.Index;
            UpdateLearnerFlag(restored.Metadata.ConfState);
        }

        foreach (var entry in ready.CommittedEntries)
        {
            if (entry.Index <= _machine.AppliedIndex)
                continue; // already in the restored state
            if (entry.Type == EntryType.ConfChange)
                ApplyConfChange(entry);
            else
            {
                LatencyTrace.Mark(TraceStage.Committed, entry.Index);
                _machine.Apply(entry.Index, entry.Data);
                LatencyTrace.Mark(TraceStage.Applied, entry.Index);
            }
        }

        if (!sendFirst)
        {
            Send(ready.Messages);
            Send(ready.MessagesAfterPersist);
        }

        foreach (var read in ready.ReadStates)
            OnReadState(read);

        _node.Advance(ready);
    }

    private void ApplyConfChange(Entry entry)
    {
        if (entry.Data.IsEmpty)
        {
            _machine.Apply(entry.Index, ReadOnlyMemory<byte>.Empty);
            return;
        }

        var change = ConfChangeCodec.Decode(entry.Data.Span);
        var state = _node.ApplyConfChange(change);
        _machine.ApplyConfChange(entry.Index, change, state);
        UpdateLearnerFlag(state);
        if (change.Type == ConfChangeType.RemoveMember && change.MemberId == _options.MemberId)
        {
            ConsensusLog.RemovedFromCluster(_logger);
            Removed?.Invoke();
        }
    }

    private void UpdateLearnerFlag(ConfState state) => IsLearner = state.Learners.Contains(_options.MemberId);

    private void Send(IReadOnlyList<Message> messages)
    {
        if (LatencyTrace.Enabled)
            TraceMessages(messages);

        // Writing on this thread saves a hand-off to the sender task when the loop would idle
        // anyway (one input this round, none waiting: a lone client's write). Under load the
        // sender's thread writes in parallel: a loopback send also runs the receiver's TCP work on
        // the sending thread, and with 64 clients inline sends were 40 % of the loop's CPU
        // (docs/performance.md, "Spinning, hand-offs and warm-up").
        var inline = _roundInputs <= 1 && _inbox.Reader.Count == 0;
        foreach (var message in messages)
        {
            if (message.Type == MessageType.Snapshot && message.Snapshot is { } snapshot)
            {
                SendSnapshot(message, snapshot);
                continue;
            }

            _transport.Send(message.To, MessageCodec.Encode(message), inline);
        }
    }

    // Snapshots travel on their own connection so they never delay heartbeats; the core must hear
    // how it went (ReportSnapshot) before it probes that follower again. The data is streamed from
    // the snapshot's file (the in-memory storage keeps metadata only, see MaybeSnapshot); a file
    // pruned by a newer snapshot meanwhile fails this send, and the core's next probe sends the newer one.
    private void SendSnapshot(Message message, Snapshot snapshot)
    {
        var header = new Message
        {
            Type = message.Type,
            To = message.To,
            From = message.From,
            Term = message.Term,
            LogTerm = message.LogTerm,
            Index = message.Index,
            Commit = message.Commit,
            Snapshot = snapshot with { Data = ReadOnlyMemory<byte>.Empty },
        };
        var encoded = MessageCodec.Encode(header);
        var to = message.To;
        _ = Task.Run(async () =>
        {
            var ok = false;
            try
            {
                using var data = _snapshots.Load(snapshot.Metadata.Index, snapshot.Metadata.Term).OpenData();
                await _transport.SendSnapshotAsync(to, data, encoded, _stop.Token).ConfigureAwait(false);
                ok = true;
                ConsensusLog.SnapshotSent(_logger, to, snapshot.Metadata.Index);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                ConsensusLog.SnapshotSendFailed(_logger, to, e.Message);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            Post(new PeerStatusInput(to, ok));
        });
    }
}
