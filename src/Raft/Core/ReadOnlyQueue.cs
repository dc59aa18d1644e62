namespace Cairn.Raft;

/// <summary>
/// The leader's pending ReadIndex requests (thesis §6.4). Each records the commit index at request time; it is
/// released once a quorum answered a heartbeat carrying its context (or a later one: heartbeats are answered in
/// order per follower, and a quorum confirming a later request confirms leadership at every earlier time too).
/// </summary>
internal sealed class ReadOnlyQueue
{
    internal sealed class Request(Message message, ulong index)
    {
        public Message Message { get; } = message;
        public ulong Index { get; } = index;
        public HashSet<ulong> Acks { get; } = [];
    }

    private readonly Dictionary<string, Request> _pending = [];
    private readonly List<string> _queue = [];

    private static string Key(ReadOnlyMemory<byte> ctx) => Convert.ToBase64String(ctx.Span);

    public int Count => _queue.Count;

    public void Add(ulong index, Message m)
    {
        var key = Key(m.Context);
        if (_pending.ContainsKey(key)) return;
        _pending[key] = new Request(m, index);
        _queue.Add(key);
    }

    /// <summary>Records that <paramref name="from"/> confirmed leadership for <paramref name="ctx"/>; returns its acks or null if unknown.</summary>
    public HashSet<ulong>? Ack(ulong from, ReadOnlyMemory<byte> ctx)
    {
        if (!_pending.TryGetValue(Key(ctx), out var r)) return null;
        r.Acks.Add(from);
        return r.Acks;
    }

    /// <summary>Removes and returns every request up to and including <paramref name="ctx"/>, in request order.</summary>
    public List<Request> Release(ReadOnlyMemory<byte> ctx)
    {
        var key = Key(ctx);
        var at = _queue.IndexOf(key);
        var released = new List<Request>();
        if (at < 0) return released;
        for (var i = 0; i <= at; i++)
        {
            released.Add(_pending[_queue[i]]);
            _pending.Remove(_queue[i]);
        }
        _queue.RemoveRange(0, at + 1);
        return released;
    }

    public ReadOnlyMemory<byte> LastContext => _queue.Count == 0 ? default : _pending[_queue[^1]].Message.Context;
}
