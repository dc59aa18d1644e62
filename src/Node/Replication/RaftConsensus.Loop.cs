using System.Threading.Channels;
using Cairn.Protocol;
using Cairn.Raft;
using Cairn.Raft.Diagnostics;

namespace Cairn.Node.Replication;

public sealed partial class RaftConsensus
{
    // Loop-only state (no locks: only the loop touches it).
    private readonly Queue<ProposeInput> _stalled = new();
    private readonly List<ReadInput> _unissuedReads = [];
    private readonly Dictionary<ulong, (List<ReadInput> Reads, DateTime IssuedAt)> _issuedReads = [];
    private readonly List<ReadInput> _awaitingApply = [];
    private ulong _readSequence;
    private int _roundInputs;

    /// <summary>Raised (on the loop's thread) if the loop dies; the host then stops the member.</summary>
    public event Action<Exception>? Failed;

    // Runs on a dedicated thread for the member's life and blocks (briefly spinning first) on
    // _wake when the inbox is empty: an awaited channel read would resume each round on a
    // thread-pool thread, a queueing hop per round that costs milliseconds when the pool or the
    // machine is busy.
    private void Run(CancellationToken token)
    {
        var reader = _inbox.Reader;
        try
        {
            while (WaitForInput(reader, token))
            {
                var ticked = false;
                var n = 0;
                for (; n < MaxInputsPerRound && reader.TryRead(out var input); n++)
                    ticked |= Handle(input);
                _roundInputs = n;
                if (ticked)
                    OnTick();
                IssueReads();
                while (_node.HasReady)
                    ProcessReady(_node.GetReady());
                CompleteAppliedReads();
                MaybeSnapshot();
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            // A WAL write error or a broken invariant: continuing could lose acknowledged writes.
            ConsensusLog.LoopFailed(_logger, e);
            FailAllWaiters(EtcdErrors.Stopped());
            _inbox.Writer.TryComplete();
            Failed?.Invoke(e);
            throw;
        }
    }

    // True when the inbox has input; false once it is completed and drained (as WaitToReadAsync).
    // Writers Post (write, then Set); resetting before the re-check means no wake-up is lost.
    private bool WaitForInput(ChannelReader<LoopInput> reader, CancellationToken token)
    {
        while (true)
        {
            if (reader.TryPeek(out _))
                return true;
            _wake.Reset();
            if (reader.TryPeek(out _))
                return true;
            if (reader.Completion.IsCompleted)
                return false;
            _wake.Wait(token);
        }
    }

    // Returns true for a tick (handled once per round, after the round's messages).
    private bool Handle(LoopInput input)
    {
        switch (input)
        {
            case TickInput:
                return true;
            case StepInput step:
                if (LatencyTrace.Enabled)
                    TraceMessage(step.Message, TraceStage.AppendStepped, TraceStage.AckStepped, step.Message.From);
                _node.Step(step.Message);
                break;
            case ProposeInput propose:
                Propose(propose);
                break;
            case ReadInput read:
                _unissuedReads.Add(read);
                break;
            case ConfChangeInput change:
                Complete(change.Accepted, _node.TryProposeConfChange(change.Change));
                break;
            case TransferInput transfer:
                Complete(transfer.Accepted, _node.TransferLeadership(transfer.Target));
                break;
            case StateSnapshotInput snapshot when snapshot.CancellationToken.IsCancellationRequested:
                snapshot.Done.TrySetCanceled(snapshot.CancellationToken);
                break;
            case StateSnapshotInput snapshot:
                // Handled between Readies, so no entry is half-applied (as MaybeSnapshot).
                snapshot.Done.TrySetResult(TakeStateSnapshot());
                break;
            case PeerStatusInput status when status.SnapshotSucceeded is { } ok:
                _node.ReportSnapshot(status.Peer, ok);
                break;
            case PeerStatusInput status:
                _node.ReportUnreachable(status.Peer);
                break;
        }

        return false;
    }

    private void Propose(ProposeInput input)
    {
        var status = _node.TryPropose(input.Command);
        switch (status)
        {
            case ProposeStatus.Accepted:
                if (LatencyTrace.Enabled)
                {
                    LatencyTrace.Mark(TraceStage.ProposeEnqueued, _node.LastIndex, 0, input.CreatedAt);
                    LatencyTrace.Mark(TraceStage.LoopPickup, _node.LastIndex);
                }

                input.Accepted.TrySetResult();
                break;
            case ProposeStatus.NoLeader or ProposeStatus.TransferInProgress:
                // Park it: an election or transfer usually ends within an election timeout.
                if (_stalled.Count < _options.MaxStalledProposals)
                    _stalled.Enqueue(input);
                else
                    input.Accepted.TrySetException(EtcdErrors.NoLeader());
                break;
            default:
                Complete(input.Accepted, status);
                break;
        }
    }

    private static void Complete(TaskCompletionSource accepted, ProposeStatus status)
    {
        switch (status)
        {
            case ProposeStatus.Accepted:
                accepted.TrySetResult();
                break;
            case ProposeStatus.NoLeader or ProposeStatus.NotLeader:
                accepted.TrySetException(EtcdErrors.NoLeader());
                break;
            case ProposeStatus.UncommittedLimit:
                accepted.TrySetException(new RpcException(StatusCode.ResourceExhausted, "etcdserver: too many requests"));
                break;
            case ProposeStatus.TransferInProgress:
                accepted.TrySetException(new RpcException(StatusCode.Unavailable, "etcdserver: leader changed"));
                break;
            default:
                accepted.TrySetException(new RpcException(StatusCode.FailedPrecondition,
                    status.ToString() == "ConfChangePending"
                        ? "etcdserver: unhealthy cluster"
                        : $"etcdserver: proposal dropped ({status})"));
                break;
        }
    }

    private void OnTick()
    {
        _node.Tick();
        var now = DateTime.UtcNow;

        // Retry parked proposals now that a leader may exist; give up on old ones.
        for (var n = _stalled.Count; n > 0; n--)
        {
            var p = _stalled.Dequeue();
            if (p.Accepted.Task.IsCompleted)
                continue;
            if (now > p.GiveUpAt)
            {
                p.Accepted.TrySetException(EtcdErrors.NoLeader());
                continue;
            }

            Propose(p);
        }

        // A ReadIndex answer can be lost (a leader change, a dropped message): re-ask.
        List<ulong>? stale = null;
        foreach (var (context, batch) in _issuedReads)
        {
            if (now - batch.IssuedAt > ReadRetryAfter)
                (stale ??= []).Add(context);
        }

        if (stale is not null)
        {
            foreach (var context in stale)
            {
                _unissuedReads.AddRange(_issuedReads[context].Reads);
                _issuedReads.Remove(context);
            }
        }

        FailExpiredReads(now);
    }

    // Any ReadIndex issued after a read arrived is a valid barrier for it, so re-asking is always
    // safe; three heartbeats is long enough for an answer in flight and short enough that a read
    // whose answer was lost waits ~300 ms, not a whole election timeout.
    private TimeSpan ReadRetryAfter => 3 * _options.HeartbeatInterval;

    private void FailExpiredReads(DateTime now)
    {
        _unissuedReads.RemoveAll(r => Expired(r, now));
        _awaitingApply.RemoveAll(r => Expired(r, now));
        foreach (var batch in _issuedReads.Values)
            batch.Reads.RemoveAll(r => Expired(r, now));

        static bool Expired(ReadInput read, DateTime now)
        {
            if (read.Done.Task.IsCompleted)
                return true;
            if (now <= read.GiveUpAt)
                return false;
            read.Done.TrySetException(EtcdErrors.Timeout());
            return true;
        }
    }

    // One ReadIndex round confirms leadership for every read waiting now (etcd batches the same way).
    private void IssueReads()
    {
        if (_unissuedReads.Count == 0)
            return;
        var context = ++_readSequence;
        var bytes = new byte[8];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(bytes, context);
        if (_node.ReadIndex(bytes) != ProposeStatus.Accepted)
            return; // no leader yet: retried on the next round
        _issuedReads[context] = ([.. _unissuedReads], DateTime.UtcNow);
        _unissuedReads.Clear();
    }

    private void OnReadState(ReadState state)
    {
        if (state.Context.Length != 8)
            return;
        var context = System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(state.Context.Span);
        if (!_issuedReads.Remove(context, out var batch))
            return;
        foreach (var read in batch.Reads)
        {
            read.Index = state.Index;
            _awaitingApply.Add(read);
        }
    }

    private void CompleteAppliedReads()
    {
        if (_awaitingApply.Count == 0)
            return;
        var applied = _machine.AppliedIndex;
        _awaitingApply.RemoveAll(r =>
        {
            if (r.Index > applied)
                return false;
            r.Done.TrySetResult();
            return true;
        });
    }

    private void FailAllWaiters(Exception error)
    {
        while (_stalled.TryDequeue(out var p))
            p.Accepted.TrySetException(error);
        foreach (var r in _unissuedReads.Concat(_awaitingApply).Concat(_issuedReads.Values.SelectMany(b => b.Reads)))
            r.Done.TrySetException(error);
        _unissuedReads.Clear();
        _awaitingApply.Clear();
        _issuedReads.Clear();
        while (_inbox.Reader.TryRead(out var input))
        {
            switch (input)
            {
                case ProposeInput p: p.Accepted.TrySetException(error); break;
                case ReadInput r: r.Done.TrySetException(error); break;
                case ConfChangeInput c: c.Accepted.TrySetException(error); break;
                case TransferInput t: t.Accepted.TrySetException(error); break;
                case StateSnapshotInput s: s.Done.TrySetException(error); break;
            }
        }
    }
}
