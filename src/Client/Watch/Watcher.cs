using System.Threading.Channels;
using Etcdserverpb;
using Mvccpb;

namespace Cairn.Client;

/// <summary>
/// One user watch inside a <see cref="WatchHub"/>: its request, its <see cref="WatchCursor"/>,
/// its place on the current stream and the bounded queue its consumer reads. Everything but
/// <see cref="Output"/>'s reader, <see cref="Suspended"/> and <see cref="TryClaimResume"/> is
/// touched only by the hub's loop.
/// </summary>
internal sealed class Watcher
{
    private readonly Channel<WatchBatch> _output;
    private volatile bool _suspended;
    private int _resumeClaimed;

    public Watcher(KeyRange range, WatchOptions options, int queueCapacity)
    {
        Range = range;
        Options = options;
        Cursor = new WatchCursor(options.StartRevision);
        QueueCapacity = Math.Max(2, queueCapacity);
        // The hub checks for room before every write (see IsFull), so Wait never blocks it: a full
        // queue suspends the watch instead of dropping or blocking.
        _output = Channel.CreateBounded<WatchBatch>(new BoundedChannelOptions(QueueCapacity)
        {
            SingleReader = true,
            SingleWriter = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
    }

    /// <summary>Most batches the consumer's queue holds.</summary>
    public int QueueCapacity { get; }

    /// <summary>The consumer's queue has no room for another batch.</summary>
    public bool IsFull => _output.Reader.Count >= QueueCapacity;

    /// <summary>
    /// Cancelled on the server because its consumer fell behind (queue full); re-created from the
    /// cursor once the consumer has drained half the queue. Written by the hub's loop, read by the consumer.
    /// </summary>
    public bool Suspended
    {
        get => _suspended;
        set
        {
            if (value)
            {
                Volatile.Write(ref _resumeClaimed, 0);
            }
            _suspended = value;
        }
    }

    /// <summary>
    /// Called by the consumer after reading: true once per suspension when the queue has drained to
    /// half, meaning the consumer should ask the hub to resume the watch.
    /// </summary>
    public bool TryClaimResume() =>
        _suspended && _output.Reader.Count <= QueueCapacity / 2 && Interlocked.CompareExchange(ref _resumeClaimed, 1, 0) == 0;

    public KeyRange Range { get; }

    public WatchOptions Options { get; }

    public WatchCursor Cursor { get; }

    public ChannelReader<WatchBatch> Output => _output.Reader;

    /// <summary>The server's id for the watch on the current stream, or -1 while not created there.</summary>
    public long WatchId { get; set; } = -1;

    /// <summary>Events of fragments received so far (a response split with fragment=true), or null.</summary>
    public List<Event>? Fragments { get; set; }

    /// <summary>The consumer went away (cancelled or disposed the enumeration); the server-side watch must be cancelled.</summary>
    public bool Removed { get; set; }

    /// <summary>The watch ended (error, removal or client disposal); nothing more is delivered.</summary>
    public bool Finished { get; private set; }

    /// <summary>The created notification was delivered (only the first creation is reported).</summary>
    public bool CreatedReported { get; set; }

    public WatchRequest CreateRequest()
    {
        var create = new WatchCreateRequest
        {
            Key = Range.Key,
            RangeEnd = Range.RangeEnd,
            StartRevision = Cursor.NextRevision,
            ProgressNotify = Options.ProgressNotify,
            PrevKv = Options.PrevKv,
            Fragment = Options.Fragment,
        };
        if (Options.NoPut)
        {
            create.Filters.Add(WatchCreateRequest.Types.FilterType.Noput);
        }
        if (Options.NoDelete)
        {
            create.Filters.Add(WatchCreateRequest.Types.FilterType.Nodelete);
        }
        return new WatchRequest { CreateRequest = create };
    }

    /// <summary>Queues a batch for the consumer; the hub checks <see cref="IsFull"/> first, so this always fits.</summary>
    public void Deliver(WatchBatch batch)
    {
        if (!Finished && !_output.Writer.TryWrite(batch))
        {
            throw new InvalidOperationException("etcdclient: watch queue overflow (delivered without checking for room)");
        }
    }

    public void Finish(Exception? error)
    {
        if (!Finished)
        {
            Finished = true;
            _output.Writer.TryComplete(error);
        }
    }
}
