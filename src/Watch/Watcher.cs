using Mvccpb;

namespace Cairn.Watch;

/// <summary>Options of one watcher, packed in a byte.</summary>
[Flags]
internal enum WatchFlags : byte
{
    None = 0,
    NoPut = 1,
    NoDelete = 2,
    PrevKv = 4,
    ProgressNotify = 8,
    Fragment = 16,
}

/// <summary>Which group of the watchable store holds a watcher.</summary>
internal enum WatcherState : byte
{
    /// <summary>Created, not yet added to the store.</summary>
    New,
    /// <summary>Caught up: receives writes as they happen.</summary>
    Synced,
    /// <summary>Behind: the background loop replays history to it.</summary>
    Unsynced,
    /// <summary>Its stream's buffer was full: holds one pending batch, retried by the background loop.</summary>
    Victim,
    /// <summary>Removed from the store (cancelled, compacted away, or its stream ended).</summary>
    Removed,
}

/// <summary>
/// One watch. Kept small (a few references and scalars) because idle watchers are the common case.
/// Fields other than the immutable ones are guarded by the store's lock unless noted.
/// </summary>
internal sealed class Watcher
{
    internal Watcher(long id, byte[] key, byte[]? end, long startRevision, WatchFlags flags, WatchSink sink)
    {
        Id = id;
        Key = key;
        End = end;
        MinRev = startRevision;
        Flags = flags;
        Sink = sink;
    }

    /// <summary>The watch id on its stream.</summary>
    internal readonly long Id;

    /// <summary>First key (a single key when <see cref="End"/> is null).</summary>
    internal readonly byte[] Key;

    /// <summary>Exclusive end; null: single key; empty: every key &gt;= <see cref="Key"/>.</summary>
    internal readonly byte[]? End;

    /// <summary>Options.</summary>
    internal readonly WatchFlags Flags;

    /// <summary>Where responses go.</summary>
    internal readonly WatchSink Sink;

    /// <summary>The next revision this watcher still needs (everything below was delivered or did not match).</summary>
    internal long MinRev;

    /// <summary>Group membership.</summary>
    internal WatcherState State;

    /// <summary>Index inside the <see cref="WatcherList"/> holding it (key bucket, unsynced or victims).</summary>
    internal int Slot = -1;

    /// <summary>Order key inside the interval tree (unique per store).</summary>
    internal long Seq;

    /// <summary>Node in the interval tree while this is a synced range watcher.</summary>
    internal IntervalTree<Watcher>.Node? TreeNode;

    /// <summary>Victim: the batch its stream refused.</summary>
    internal WatchItem Pending;

    /// <summary>Scratch list of matching events while one write is being dispatched.</summary>
    internal List<Event>? Scratch;

    /// <summary>Synced, but its start revision is still ahead of the store (guarded by the store lock).</summary>
    internal bool Future;

    /// <summary>Progress notify bookkeeping (stream-side): no events sent since the last tick.</summary>
    internal volatile bool ProgressIdle = true;

    internal bool IsRange => End is not null;

    internal bool Has(WatchFlags f) => (Flags & f) != 0;

    /// <summary>False if the filters drop this event.</summary>
    internal bool Accepts(Event ev) => ev.Type == Event.Types.EventType.Put ? (Flags & WatchFlags.NoPut) == 0 : (Flags & WatchFlags.NoDelete) == 0;
}

/// <summary>An unordered set of watchers with O(1) add and remove (swap with last; slots stored in the watcher).</summary>
internal sealed class WatcherList
{
    private Watcher?[] _items;

    internal WatcherList(int capacity = 2) => _items = new Watcher?[capacity];

    internal int Count { get; private set; }

    internal Watcher this[int i] => _items[i]!;

    internal void Add(Watcher w)
    {
        if (Count == _items.Length) Array.Resize(ref _items, _items.Length * 2);
        w.Slot = Count;
        _items[Count++] = w;
    }

    internal void Remove(Watcher w)
    {
        int i = w.Slot;
        int last = --Count;
        var moved = _items[last]!;
        _items[i] = moved;
        moved.Slot = i;
        _items[last] = null;
        w.Slot = -1;
        if (Count == 0 && _items.Length > 16) _items = new Watcher?[2];
    }
}
