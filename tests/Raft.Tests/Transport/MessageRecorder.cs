using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Cairn.Raft.Transport;

namespace Cairn.Raft.Tests.Transport;

/// <summary>Collects every message a transport receives (copied, as the handler contract requires).</summary>
internal sealed class MessageRecorder
{
    private readonly object _gate = new();
    private readonly Dictionary<ulong, List<byte[]>> _byFrom = new();

    /// <summary>Optional hook run inside the handler before recording (e.g. to block it).</summary>
    public Action<ulong, ReadOnlyMemory<byte>>? Intercept { get; set; }

    public int Total { get; private set; }

    public void Handle(ulong from, ReadOnlyMemory<byte> message)
    {
        Intercept?.Invoke(from, message);
        lock (_gate)
        {
            if (!_byFrom.TryGetValue(from, out List<byte[]>? list))
            {
                _byFrom[from] = list = new List<byte[]>();
            }

            list.Add(message.ToArray());
            Total++;
            Monitor.PulseAll(_gate);
        }
    }

    public List<byte[]> From(ulong from)
    {
        lock (_gate)
        {
            return _byFrom.TryGetValue(from, out List<byte[]>? list) ? list.ToList() : new List<byte[]>();
        }
    }

    public int CountFrom(ulong from)
    {
        lock (_gate)
        {
            return _byFrom.TryGetValue(from, out List<byte[]>? list) ? list.Count : 0;
        }
    }

    /// <summary>Waits until <paramref name="count"/> messages from <paramref name="from"/> arrived; false on timeout.</summary>
    public bool WaitForCount(ulong from, int count, TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        lock (_gate)
        {
            while (true)
            {
                int have = _byFrom.TryGetValue(from, out List<byte[]>? list) ? list.Count : 0;
                if (have >= count)
                {
                    return true;
                }

                TimeSpan left = timeout - sw.Elapsed;
                if (left <= TimeSpan.Zero)
                {
                    return false;
                }

                Monitor.Wait(_gate, left);
            }
        }
    }
}
