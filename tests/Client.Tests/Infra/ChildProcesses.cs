using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;

namespace Cairn.Client.Tests.Infra;

/// <summary>
/// Starts server processes for tests and guarantees they die: on Dispose, and, should the test
/// host exit without disposing, from a ProcessExit hook. Keeps the tail of their output for failures.
/// </summary>
public static class ChildProcesses
{
    private static readonly ConcurrentDictionary<int, Process> Live = new();

    static ChildProcesses()
    {
        AppDomain.CurrentDomain.ProcessExit += (_, _) => KillAll();
    }

    public static (Process Process, StringBuilder Output) Start(string fileName, IEnumerable<string> args, string? workingDirectory = null)
    {
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }
        var output = new StringBuilder();
        var process = new Process { StartInfo = info };
        void Append(object? sender, DataReceivedEventArgs e)
        {
            if (e.Data == null)
            {
                return;
            }
            lock (output)
            {
                if (output.Length > 200_000)
                {
                    output.Remove(0, 100_000);
                }
                output.AppendLine(e.Data);
            }
        }
        process.OutputDataReceived += Append;
        process.ErrorDataReceived += Append;
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        Live[process.Id] = process;
        return (process, output);
    }

    public static void Kill(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit(5000);
            }
        }
        catch (Exception)
        {
            // Already gone.
        }
        Live.TryRemove(process.Id, out _);
    }

    private static void KillAll()
    {
        foreach (var p in Live.Values)
        {
            Kill(p);
        }
    }

    /// <summary>Sends a signal (e.g. "STOP", "CONT", "KILL") to a pid we started.</summary>
    public static void Signal(int pid, string signal)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", ["-" + signal, pid.ToString()]) { UseShellExecute = false, RedirectStandardError = true })!;
        kill.StandardError.ReadToEnd();
        kill.WaitForExit();
        if (kill.ExitCode != 0)
        {
            throw new InvalidOperationException($"kill -{signal} {pid} failed with {kill.ExitCode}");
        }
    }
}
