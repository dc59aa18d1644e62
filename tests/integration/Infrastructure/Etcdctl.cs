using System.Diagnostics;

namespace Cairn.IntegrationTests.Infrastructure;

/// <summary>How an <see cref="Etcdctl"/> invocation ended.</summary>
public enum CommandEnd
{
    /// <summary>The process exited by itself; <see cref="CommandResult.ExitCode"/> is set.</summary>
    Exited,

    /// <summary>The process printed the requested number of stdout lines and was then killed (bounded <c>watch</c>).</summary>
    StoppedAfterLines,

    /// <summary>The process neither exited nor printed enough lines in time and was killed.</summary>
    TimedOut,
}

/// <summary>The raw outcome of one <c>etcdctl</c> invocation.</summary>
/// <param name="Stdout">Everything written to stdout (cut after the requested line for <see cref="CommandEnd.StoppedAfterLines"/>).</param>
/// <param name="Stderr">Everything written to stderr.</param>
/// <param name="ExitCode">The exit code, when <paramref name="End"/> is <see cref="CommandEnd.Exited"/>.</param>
/// <param name="End">How the invocation ended.</param>
public sealed record CommandResult(byte[] Stdout, byte[] Stderr, int? ExitCode, CommandEnd End)
{
    /// <summary>Stdout decoded as UTF-8.</summary>
    public string StdoutText => System.Text.Encoding.UTF8.GetString(Stdout);

    /// <summary>Stderr decoded as UTF-8.</summary>
    public string StderrText => System.Text.Encoding.UTF8.GetString(Stderr);

    /// <summary>True when the process exited by itself with code 0.</summary>
    public bool Succeeded => End == CommandEnd.Exited && ExitCode == 0;
}

/// <summary>
/// Runs the real <c>etcdctl</c> (v3 API) against one endpoint. Every invocation gets
/// <c>ETCDCTL_API=3 etcdctl --endpoints 127.0.0.1:&lt;port&gt; --command-timeout=5s &lt;args&gt;</c>, optional stdin,
/// and is bounded in time; the process is always gone when a call returns or throws.
/// </summary>
public sealed class Etcdctl
{
    /// <summary>Per-request timeout handed to etcdctl.</summary>
    public const string CommandTimeout = "5s";

    /// <summary>Creates a runner for <paramref name="endpoint"/> (<c>host:port</c>).</summary>
    public Etcdctl(string endpoint) => Endpoint = endpoint;

    /// <summary>The endpoint every invocation talks to.</summary>
    public string Endpoint { get; }

    /// <summary>The full argument list for <paramref name="args"/>: the global flags first, then the command.</summary>
    public IReadOnlyList<string> FullArguments(IEnumerable<string> args) =>
        ["--endpoints", Endpoint, $"--command-timeout={CommandTimeout}", .. args];

    /// <summary>
    /// Runs <c>etcdctl &lt;args&gt;</c>. With <paramref name="stopAfterLines"/>, the process is killed as soon as stdout
    /// holds that many lines (for commands that never end by themselves, like <c>watch</c>), and stdout is cut there.
    /// Once that many lines are there, the result is <see cref="CommandEnd.StoppedAfterLines"/> with stdout cut after them,
    /// no stderr and no exit code, whatever the process did after the last line (that would race with the kill).
    /// After <paramref name="timeout"/> (default 20 s) the process is killed and the result says <see cref="CommandEnd.TimedOut"/>.
    /// </summary>
    public async Task<CommandResult> RunAsync(
        IReadOnlyList<string> args,
        byte[]? stdin = null,
        int? stopAfterLines = null,
        TimeSpan? timeout = null,
        CancellationToken cancellationToken = default)
    {
        var startInfo = new ProcessStartInfo(Tools.Etcdctl)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in FullArguments(args))
            startInfo.ArgumentList.Add(arg);
        ChildProcesses.ScrubEnvironment(startInfo);
        startInfo.Environment["ETCDCTL_API"] = "3";

        var process = ChildProcesses.Start(startInfo);
        try
        {
            using var timeoutCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeoutCts.CancelAfter(timeout ?? TimeSpan.FromSeconds(20));

            var stdout = new MemoryStream();
            var stderr = new MemoryStream();
            var linesReached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var stdoutTask = ReadStdoutAsync(process.StandardOutput.BaseStream, stdout, stopAfterLines, linesReached);
            var stderrTask = process.StandardError.BaseStream.CopyToAsync(stderr, CancellationToken.None);
            var stdinTask = WriteStdinAsync(process, stdin);

            var exited = process.WaitForExitAsync(CancellationToken.None);
            var timedOut = Task.Delay(Timeout.Infinite, timeoutCts.Token);
            var first = await Task.WhenAny(exited, linesReached.Task, timedOut).ConfigureAwait(false);

            CommandEnd end;
            if (first == exited)
            {
                end = CommandEnd.Exited;
            }
            else
            {
                end = first == linesReached.Task ? CommandEnd.StoppedAfterLines : CommandEnd.TimedOut;
                await ChildProcesses.KillAndWaitAsync(process).ConfigureAwait(false);
            }
            cancellationToken.ThrowIfCancellationRequested();

            await Task.WhenAll(stdoutTask, stderrTask, stdinTask).ConfigureAwait(false);
            var outBytes = stdout.ToArray();
            if (stopAfterLines is { } n && CutAfterLines(outBytes, n) is { } cut)
            {
                // Enough lines: whatever came after them (more output, a stderr message, an exit of its own) raced
                // with our kill and is left out, so that the result does not depend on timing.
                return new CommandResult(cut, [], null, CommandEnd.StoppedAfterLines);
            }
            return new CommandResult(outBytes, stderr.ToArray(), end == CommandEnd.Exited ? process.ExitCode : null, end);
        }
        finally
        {
            await ChildProcesses.KillAndWaitAsync(process).ConfigureAwait(false);
            process.Dispose();
        }
    }

    private static async Task ReadStdoutAsync(Stream source, MemoryStream sink, int? stopAfterLines, TaskCompletionSource linesReached)
    {
        var buffer = new byte[16 * 1024];
        var lines = 0;
        int read;
        while ((read = await source.ReadAsync(buffer).ConfigureAwait(false)) > 0)
        {
            sink.Write(buffer, 0, read);
            if (stopAfterLines is { } n)
            {
                lines += buffer.AsSpan(0, read).Count((byte)'\n');
                if (lines >= n)
                    linesReached.TrySetResult();
            }
        }
    }

    private static async Task WriteStdinAsync(Process process, byte[]? stdin)
    {
        try
        {
            if (stdin is { Length: > 0 })
                await process.StandardInput.BaseStream.WriteAsync(stdin).ConfigureAwait(false);
            process.StandardInput.Close();
        }
        catch (IOException)
        {
            // etcdctl did not read all of its stdin (it exited first): not an error of the harness.
        }
    }

    /// <summary>The first <paramref name="lines"/> lines of <paramref name="bytes"/>, or null when it has fewer.</summary>
    private static byte[]? CutAfterLines(byte[] bytes, int lines)
    {
        var seen = 0;
        for (var i = 0; i < bytes.Length; i++)
        {
            if (bytes[i] == (byte)'\n' && ++seen == lines)
                return bytes[..(i + 1)];
        }
        return null;
    }
}
