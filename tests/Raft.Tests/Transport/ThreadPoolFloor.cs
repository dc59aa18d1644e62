using System.Runtime.CompilerServices;

namespace Cairn.Raft.Tests.Transport;

/// <summary>
/// Transport tests block pool threads on purpose (blocking socket reads of the raw-protocol checks, handlers that
/// stall), and xUnit runs test classes in parallel next to the CPU-bound simulation. On a 2-core runner the pool
/// starts with 2 threads and injects more slowly than the transport's timeouts, so an accept or handshake
/// continuation could wait seconds for a thread (seen: a raw preamble unanswered for 5 s). Raised once for the
/// whole assembly, before any test runs — not in one class's static constructor, which runs only when that class
/// happens to come first.
/// </summary>
internal static class ThreadPoolFloor
{
    [ModuleInitializer]
    internal static void Raise()
    {
        ThreadPool.GetMinThreads(out int workers, out int io);
        ThreadPool.SetMinThreads(Math.Max(workers, 16), Math.Max(io, 16));
    }
}
