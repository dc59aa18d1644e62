using System.Threading.Channels;
using Etcdserverpb;
using Mvccpb;

namespace Cairn.Client;

/// <summary>
/// One user watch inside a <see cref="WatchHub"/>: its request, its <see cref="WatchCursor"/>,
/// its place on the current stream and the queue its consumer reads. Everything but
/// <see cref="Output"/>'s reader is touched only by the hub's loop.
/// </summary>
internal sealed class Watcher
{
    private readonly Channel<WatchBatch> _output = Channel.CreateUnbounded<WatchBatch>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });

    public Watcher(KeyRange range, WatchOptions options)
    {
        Range = range;
        Options = options;
        Cursor = new WatchCursor(options.StartRevision);
    }

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

    public void Deliver(WatchBatch batch)
    {
        if (!Finished)
        {
            _output.Writer.TryWrite(batch);
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
