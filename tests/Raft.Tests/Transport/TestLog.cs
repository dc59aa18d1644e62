using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Cairn.Raft.Transport;

namespace Cairn.Raft.Tests.Transport;

/// <summary>Log sink that keeps the lines (tests assert on refusals) and is safe from any thread.</summary>
internal static class TestLog
{
    private static readonly ConcurrentQueue<string> Lines = new();

    public static void Write(string line)
    {
        Lines.Enqueue(line);
        while (Lines.Count > 10_000 && Lines.TryDequeue(out _))
        {
        }
    }

    public static bool Contains(string text) => Lines.Any(l => l.Contains(text, StringComparison.Ordinal));
}
