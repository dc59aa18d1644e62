using Cairn.IntegrationTests.Infrastructure;

namespace Cairn.IntegrationTests.Differential;

/// <summary>
/// Runs a <see cref="DifferentialCase"/> against two fresh members (normally the real etcd and Cairn) and compares
/// their masked transcripts.
/// </summary>
public static class DifferentialHarness
{
    /// <summary>At most this many cases (each with its two members) run at once, whatever the test runner does.</summary>
    public const int MaxParallelCases = 2;

    /// <summary>
    /// How long a <c>| head N</c> command (watch) may take to print its N lines. Only reached when something is
    /// wrong (normally the command is stopped at its N-th line), so it is generous for loaded machines.
    /// </summary>
    public static readonly TimeSpan HeadTimeout = TimeSpan.FromSeconds(10);

    /// <summary>How long any other command may take (etcdctl itself gives up after --command-timeout=5s).</summary>
    public static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(20);

    private static readonly SemaphoreSlim Gate = new(MaxParallelCases);

    /// <summary>Runs every step of <paramref name="testCase"/> in order against <paramref name="member"/>.</summary>
    public static async Task<Transcript> RunAsync(MemberProcess member, DifferentialCase testCase, CancellationToken cancellationToken = default)
    {
        var transcript = new Transcript(member.Describe(), member.ClientEndpoint);
        var etcdctl = member.Etcdctl;
        foreach (var step in testCase.Steps)
        {
            var result = await etcdctl.RunAsync(
                step.Args,
                step.Stdin,
                step.HeadLines,
                step.HeadLines is null ? CommandTimeout : HeadTimeout,
                cancellationToken).ConfigureAwait(false);
            transcript.Add(step, result);
        }
        return transcript;
    }

    /// <summary>
    /// Starts a fresh <paramref name="createLeft"/> and a fresh <paramref name="createRight"/> member, runs the case on
    /// both (at the same time) and stops both, whatever happens.
    /// </summary>
    public static async Task<(Transcript Left, Transcript Right)> RunPairAsync(
        Func<MemberProcess> createLeft, Func<MemberProcess> createRight, DifferentialCase testCase, CancellationToken cancellationToken = default)
    {
        await Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        MemberProcess? left = null;
        MemberProcess? right = null;
        try
        {
            left = createLeft();
            right = createRight();
            await Task.WhenAll(left.StartAsync(cancellationToken), right.StartAsync(cancellationToken)).ConfigureAwait(false);
            var leftRun = RunAsync(left, testCase, cancellationToken);
            var rightRun = RunAsync(right, testCase, cancellationToken);
            await Task.WhenAll(leftRun, rightRun).ConfigureAwait(false);
            var (l, r) = (await leftRun.ConfigureAwait(false), await rightRun.ConfigureAwait(false));
            l.MemberLog = Tail(left);
            r.MemberLog = Tail(right);
            return (l, r);
        }
        finally
        {
            try
            {
                if (left is not null)
                    await left.DisposeAsync().ConfigureAwait(false);
            }
            finally
            {
                if (right is not null)
                    await right.DisposeAsync().ConfigureAwait(false);
                Gate.Release();
            }
        }
    }

    private static string Tail(MemberProcess member, int lines = 25)
    {
        var all = member.LogTail().Split('\n');
        var tail = string.Join('\n', all.Skip(Math.Max(0, all.Length - lines)));
        return member.ProcessId is null ? tail : tail + (member.HasExited ? $"\n(the member process has exited: {member.ExitDescription})" : "");
    }

    /// <summary>
    /// Null when the transcripts are equal and the oracle (<paramref name="expected"/>) did not time out; otherwise a
    /// failure message with a unified diff (expected = '-', actual = '+') and, for oracle timeouts, what to fix in the case.
    /// </summary>
    public static string? Compare(DifferentialCase testCase, Transcript expected, string expectedName, Transcript actual, string actualName)
    {
        if (expected.TimedOut.Count > 0)
        {
            return $"Case {testCase} is broken: on {expectedName} (the oracle), these commands neither exited nor printed " +
                   $"their '| head N' lines within {HeadTimeout.TotalSeconds:0} s (lower N to what etcd prints):\n" +
                   string.Join('\n', expected.TimedOut.Select(s => $"  line {s.Line}: {s.Source}")) +
                   $"\n--- {expectedName} transcript ---\n{expected}";
        }
        if (expected.Lines.SequenceEqual(actual.Lines, StringComparer.Ordinal))
            return null;
        var diff = LineDiff.Unified(expected.Lines, actual.Lines, $"{expectedName} ({expected.Member})", $"{actualName} ({actual.Member})");
        return diff.Length == 0
            ? null
            : $"Case {testCase}: {actualName} differs from {expectedName} ('-' = {expectedName}, '+' = {actualName}).\n{diff}" +
              Transcript.DescribeLongLineDifferences(expected, actual) +
              (actual.MemberLog.Length > 0 ? $"--- {actualName} member log (tail) ---\n{actual.MemberLog}\n" : "");
    }
}
