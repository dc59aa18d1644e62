using System.Threading.Channels;
using Cairn.Protocol;
using Cairn.Raft;
using Cairn.Raft.Diagnostics;

using Cairn.Raft.Storage;
using Cairn.Raft.Transport;
using Microsoft.Extensions.Logging;

namespace Cairn.Node.Replication;

/// <summary>
/// Drives the pure Raft core for a member: one loop owns the <see cref="RaftNode"/>, feeds it ticks,
/// peer messages and proposals, and processes each <see cref="Ready"/> — send, persist to the WAL
/// (one fsync per Ready, however many proposals it carries: group commit), apply to the state
/// machine, answer reads — exactly in the order <see cref="Ready"/> prescribes.
/// </summary>
/// <remarks>
/// Everything that touches the core or the state machine's write side runs on the loop, so neither
/// needs locks. Other threads talk to the loop only through <see cref="_inbox"/>, a bounded channel:
/// a flood of peer messages waits (TCP back-pressure) or is dropped (Raft retransmits), a flood of
/// proposals waits in <see cref="ProposeAsync"/>.
/// </remarks>
public sealed partial class RaftConsensus : IConsensus
{
    private const int InboxCapacity = 16_384;
    private const int MaxInputsPerRound = 4_096;

    private readonly RaftConsensusOptions _options;
    private readonly ILogger _logger;
    private readonly Channel<LoopInput> _inbox = Channel.CreateBounded<LoopInput>(
        new BoundedChannelOptions(InboxCapacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
    private readonly CancellationTokenSource _stop = new();
    private readonly ManualResetEventSlim _wake = new(false);
    private readonly int _electionTicks;
    private readonly TimeSpan _readTimeout;
    private readonly TimeSpan _stallTimeout;

    private IStateMachine _machine = null!;
    private RaftNode _node = null!;
    private MemoryStorage _storage = null!;
    private WriteAheadLog _wal = null!;
    private SnapshotStore _snapshots = null!;
    private PeerTransport _transport = null!;
    private Func<ulong, ReadOnlyMemory<byte>, CancellationToken, Task<byte[]>>? _peerRequestHandler;
    private Task _loop = Task.CompletedTask;
    private Task _ticker = Task.CompletedTask;
    private ulong _lastSnapshotIndex;

    // Published by the loop for other threads.
    private ulong _leaderId;
    private ulong _term;
    private ulong _commit;

    /// <summary>Creates the consensus; <see cref="Start"/> opens storage and joins the cluster.</summary>
    public RaftConsensus(RaftConsensusOptions options, ILogger logger)
    {
        _options = options;
        _logger = logger;
        _electionTicks = Math.Max(2, (int)Math.Round(options.ElectionTimeout / options.HeartbeatInterval));
        // etcd: ReqTimeout = 5 s + 2 × election timeout bounds how long a read waits for its ReadIndex.
        _readTimeout = TimeSpan.FromSeconds(5) + 2 * options.ElectionTimeout;
        _stallTimeout = 2 * options.ElectionTimeout;
    }

    /// <summary>Raised on the loop when this member's own removal was applied: it must stop serving.</summary>
    public event Action? Removed;

    /// <summary>The peer transport (for tests and status).</summary>
    public PeerTransport Transport => _transport;

    /// <inheritdoc />
    public Func<ulong, ReadOnlyMemory<byte>, CancellationToken, Task<byte[]>>? PeerRequestHandler
    {
        get => _peerRequestHandler;
        set
        {
            // Set before Start in practice; the transport, made in Start, takes it then.
            _peerRequestHandler = value;
            if (_transport is not null)
                _transport.RequestHandler = value;
        }
    }

    /// <inheritdoc />
    public Task<byte[]> SendPeerRequestAsync(ulong to, ReadOnlyMemory<byte> request, CancellationToken cancellationToken) =>
        _transport is null
            ? Task.FromException<byte[]>(new IOException("the peer transport is not started"))
            : _transport.SendRequestAsync(to, request, cancellationToken);

    /// <inheritdoc />
    public ulong LeaderId => Volatile.Read(ref _leaderId);

    /// <inheritdoc />
    public ulong Term => Volatile.Read(ref _term);

    /// <inheritdoc />
    public ulong CommitIndex => Volatile.Read(ref _commit);

    /// <inheritdoc />
    public ulong AppliedIndex => _machine?.AppliedIndex ?? 0;

    /// <summary>True when this member is a learner in the current configuration.</summary>
    public bool IsLearner { get; private set; }

    /// <inheritdoc />
    public void Start(IStateMachine machine)
    {
        _machine = machine;
        Open();
        // A lone voter need not wait out an election timeout to lead (a single-member cluster
        // serves writes as soon as it starts).
        if (_node.ConfState.Voters is [var only] && only == _options.MemberId)
            _node.Campaign();
        _loop = Task.Factory.StartNew(() => Run(_stop.Token), CancellationToken.None,
            TaskCreationOptions.LongRunning, TaskScheduler.Default);
        _ticker = Task.Run(() => TickAsync(_stop.Token));
    }

    /// <inheritdoc />
    public async ValueTask ProposeAsync(ReadOnlyMemory<byte> command, CancellationToken cancellationToken)
    {
        var input = new ProposeInput(command, DateTime.UtcNow + _stallTimeout);
        await EnqueueAsync(input, cancellationToken).ConfigureAwait(false);
        await input.Accepted.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask WaitForLinearizableReadAsync(CancellationToken cancellationToken)
    {
        var input = new ReadInput(DateTime.UtcNow + _readTimeout);
        await EnqueueAsync(input, cancellationToken).ConfigureAwait(false);
        await input.Done.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Proposes a membership change; completes when the leader accepted it into the log (not when applied).</summary>
    public async Task ProposeConfChangeAsync(ConfChange change, CancellationToken cancellationToken)
    {
        var input = new ConfChangeInput(change);
        await EnqueueAsync(input, cancellationToken).ConfigureAwait(false);
        await input.Accepted.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Asks the leader to hand leadership to <paramref name="target"/>; completes when it has, or fails after two election timeouts.</summary>
    public async Task TransferLeadershipAsync(ulong target, CancellationToken cancellationToken)
    {
        var input = new TransferInput(target);
        await EnqueueAsync(input, cancellationToken).ConfigureAwait(false);
        await input.Accepted.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        var deadline = DateTime.UtcNow + 2 * _options.ElectionTimeout;
        while (LeaderId != target)
        {
            if (DateTime.UtcNow > deadline)
                throw new RpcException(StatusCode.Unavailable, "etcdserver: request timed out, leader transfer took too long");
            await Task.Delay(_options.HeartbeatInterval, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Points the transport at the replicated membership (after a change or a restore). Peers not
    /// in it are dropped only once this member is in it too: a joiner that has not yet received the
    /// leader's snapshot keeps the peers it was started with.
    /// </summary>
    public void SyncPeers(IReadOnlyDictionary<ulong, IReadOnlyList<Uri>> peers)
    {
        if (_transport is null)
            return;
        foreach (var (id, urls) in peers)
        {
            if (id == _options.MemberId || urls.Count == 0)
                continue;
            if (!_transport.UpdatePeer(id, urls))
                _transport.AddPeer(id, urls);
        }

        if (!peers.ContainsKey(_options.MemberId))
            return;
        foreach (var stats in _transport.GetStats())
        {
            if (!peers.ContainsKey(stats.PeerId))
                _transport.RemovePeer(stats.PeerId);
        }
    }

    private async ValueTask EnqueueAsync(LoopInput input, CancellationToken cancellationToken)
    {
        try
        {
            if (!_inbox.Writer.TryWrite(input))
                await _inbox.Writer.WriteAsync(input, cancellationToken).ConfigureAwait(false);
            _wake.Set();
        }
        catch (ChannelClosedException)
        {
            throw EtcdErrors.Stopped();
        }
    }

    private async Task TickAsync(CancellationToken token)
    {
        using var timer = new PeriodicTimer(_options.HeartbeatInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(token).ConfigureAwait(false))
                Post(TickInput.Instance); // a tick lost to a full inbox just comes later
        }
        catch (OperationCanceledException)
        {
        }
    }

    private void OnPeerMessage(ulong from, ReadOnlyMemory<byte> bytes)
    {
        Message message;
        try
        {
            message = MessageCodec.Decode(bytes.Span);
        }
        catch (MessageFormatException e)
        {
            ConsensusLog.BadPeerMessage(_logger, from, e.Message);
            return;
        }

        if (LatencyTrace.Enabled)
            TraceMessage(message, TraceStage.AppendReceived, TraceStage.AckReceived, from);

        // Dropping under overload is safe: Raft retransmits.
        Post(new StepInput(message));
    }

    // Queues without waiting (false when the inbox is full or closed) and wakes the loop.
    private bool Post(LoopInput input)
    {
        if (!_inbox.Writer.TryWrite(input))
            return false;
        _wake.Set();
        return true;
    }

    private async Task OnPeerSnapshot(ulong from, ReadOnlyMemory<byte> header, Stream data, CancellationToken cancellationToken)
    {
        var message = MessageCodec.Decode(header.Span);
        using var buffer = new MemoryStream();
        await data.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
        if (message.Snapshot is null)
            throw new InvalidDataException("snapshot message without snapshot metadata");
        // The stream's own array, not a copy of it: a snapshot-sized copy is large-object garbage.
        message.Snapshot = message.Snapshot with { Data = new ReadOnlyMemory<byte>(buffer.GetBuffer(), 0, (int)buffer.Length) };
        await _inbox.Writer.WriteAsync(new StepInput(message), cancellationToken).ConfigureAwait(false);
        _wake.Set();
        ConsensusLog.SnapshotReceived(_logger, from, message.Snapshot.Metadata.Index, buffer.Length);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        _inbox.Writer.TryComplete();
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await Task.WhenAll(_loop, _ticker).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        if (_transport is not null)
            await _transport.DisposeAsync().ConfigureAwait(false);
        _wal?.Dispose();
        LatencyTrace.Write(_options.MemberId);
        FailAllWaiters(EtcdErrors.Stopped());
        _stop.Dispose();
    }
}
