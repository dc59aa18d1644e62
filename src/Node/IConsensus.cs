using Cairn.Node.Replication;
using Cairn.Raft;

namespace Cairn.Node;

/// <summary>
/// What the member needs from replication: order proposals into one log and hand every
/// committed entry, in log order, to the state machine. <see cref="RaftConsensus"/> implements it;
/// the seam keeps the request path (Member) independent of how ordering is achieved.
/// </summary>
public interface IConsensus : IAsyncDisposable
{
    /// <summary>
    /// Restores <paramref name="machine"/> from durable state, then delivers committed entries to
    /// it, one at a time, in order, on one thread.
    /// </summary>
    void Start(IStateMachine machine);

    /// <summary>Proposes a membership change; completes when it entered the log (not when applied).</summary>
    Task ProposeConfChangeAsync(ConfChange change, CancellationToken cancellationToken);

    /// <summary>Moves leadership to <paramref name="target"/>; completes once it leads.</summary>
    Task TransferLeadershipAsync(ulong target, CancellationToken cancellationToken);

    /// <summary>True when this member is a non-voting learner.</summary>
    bool IsLearner { get; }

    /// <summary>
    /// Offers a command for the log. Completes when the command is accepted for ordering (not
    /// when committed); throws <see cref="Cairn.Protocol.RpcException"/> if it cannot be (no
    /// leader, stopping, too many pending).
    /// </summary>
    ValueTask ProposeAsync(ReadOnlyMemory<byte> command, CancellationToken cancellationToken);

    /// <summary>
    /// Completes once this member has applied every entry committed before the call
    /// (a ReadIndex barrier): a local read after it is linearizable.
    /// </summary>
    ValueTask WaitForLinearizableReadAsync(CancellationToken cancellationToken);

    /// <summary>
    /// The state machine's <see cref="IStateMachine.WriteSnapshot"/> as one array, taken where no entry is being
    /// applied, so every part of it is as of one applied index (for a backup).
    /// </summary>
    Task<byte[]> TakeStateSnapshotAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Answers <see cref="SendPeerRequestAsync"/> from other members: (sender id, request bytes,
    /// cancellation) → answer bytes. The bytes mean nothing to the consensus; the member gives them
    /// meaning (a follower forwarding a lease renewal to the leader). Null refuses such requests.
    /// </summary>
    Func<ulong, ReadOnlyMemory<byte>, CancellationToken, Task<byte[]>>? PeerRequestHandler { get; set; }

    /// <summary>Sends one request to another member (its <see cref="PeerRequestHandler"/> answers) and returns the answer.</summary>
    /// <exception cref="IOException">The member is unknown or unreachable, or gave no answer in time.</exception>
    Task<byte[]> SendPeerRequestAsync(ulong to, ReadOnlyMemory<byte> request, CancellationToken cancellationToken);

    /// <summary>The leader this member knows of, or 0 for none.</summary>
    ulong LeaderId { get; }

    /// <summary>The current term.</summary>
    ulong Term { get; }

    /// <summary>The highest committed log index known.</summary>
    ulong CommitIndex { get; }

    /// <summary>The highest log index applied.</summary>
    ulong AppliedIndex { get; }
}
