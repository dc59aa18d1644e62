using System.Threading.Channels;
using Etcdserverpb;

namespace Cairn.Client;

/// <summary>
/// One <see cref="EtcdClient.LeaseKeepAlive"/> enumeration: the answers for its lease. It holds at
/// most one unread answer (a newer one replaces it, as only the latest TTL matters), so a consumer
/// that stops reading costs one message, never a growing queue.
/// </summary>
internal sealed class KeepAliveConsumer
{
    private readonly Channel<LeaseKeepAliveResponse> _answers = Channel.CreateBounded<LeaseKeepAliveResponse>(
        new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });

    public KeepAliveConsumer(long leaseId) => LeaseId = leaseId;

    /// <summary>The lease kept alive.</summary>
    public long LeaseId { get; }

    /// <summary>What the enumeration reads; completed with the error that ended the keep-alive, or without one.</summary>
    public ChannelReader<LeaseKeepAliveResponse> Answers => _answers.Reader;

    /// <summary>Hands over an answer (replacing an unread one).</summary>
    public void Deliver(LeaseKeepAliveResponse answer) => _answers.Writer.TryWrite(answer);

    /// <summary>Ends the enumeration: normally with null, otherwise with <paramref name="error"/>.</summary>
    public void Finish(Exception? error) => _answers.Writer.TryComplete(error);
}
