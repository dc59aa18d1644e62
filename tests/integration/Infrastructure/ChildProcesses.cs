using System.Collections.Concurrent;
using System.Diagnostics;

namespace Cairn.IntegrationTests.Infrastructure;

/// <summary>
/// Every process the integration tests start goes through <see cref="Start"/>, which remembers it until it has exited.
/// Tests stop their own processes (try/finally, <see cref="IAsyncDisposable"/>); as a last resort, any process still
/// alive when the test host exits is killed here, so a crashed or aborted run does not leak etcd or Cairn members.
/// Only processes started by this class are ever killed, by their <see cref="Process"/> handle (never by name).
/// </summary>
public static class ChildProcesses
{
    private static readonly ConcurrentDictionary<int, Process> Live = new();

    static ChildProcesses()
    {
        AppDomain.CurrentDomain.ProcessExit += (_, _) => KillAll();
    }

    /// <summary>Starts <paramref name="startInfo"/> and tracks the process until <see cref="Forget"/> is called.</summary>
    public static Process Start(ProcessStartInfo startInfo)
    {
        var process = new Process { StartInfo = startInfo, EnableRaisingEvents = true };
        if (!process.Start())
            throw new InvalidOperationException($"Could not start {startInfo.FileName}.");
        Live[process.Id] = process;
        return process;
    }

    /// <summary>Kills <paramref name="process"/> (and its children) if it is still running, and waits for it to exit.</summary>
    public static async Task KillAndWaitAsync(Process process)
    {
        try
        {
            if (!process.HasExited)
                process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Exited between the check and the kill.
        }
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            await process.WaitForExitAsync(cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Still not gone after SIGKILL and 10 s: nothing more we can do from here.
        }
        Forget(process);
    }

    /// <summary>Stops tracking a process that has exited.</summary>
    public static void Forget(Process process)
    {
        try
        {
            Live.TryRemove(process.Id, out _);
        }
        catch (InvalidOperationException)
        {
            // Id unavailable: never started.
        }
    }

    /// <summary>
    /// An environment for child processes: the current one without variables that would change etcd's or etcdctl's
    /// behaviour behind the test's back (<c>ETCD_*</c>, <c>ETCDCTL_*</c>).
    /// </summary>
    public static void ScrubEnvironment(ProcessStartInfo startInfo)
    {
        foreach (var key in startInfo.Environment.Keys.ToList())
        {
            if (key.StartsWith("ETCD_", StringComparison.Ordinal) || key.StartsWith("ETCDCTL_", StringComparison.Ordinal))
                startInfo.Environment.Remove(key);
        }
    }

    private static void KillAll()
    {
        foreach (var process in Live.Values)
        {
            try
            {
                if (!process.HasExited)
                    process.Kill(entireProcessTree: true);
            }
            catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
            {
                // Already gone.
            }
        }
    }
}
