using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Cairn.IntegrationTests.Infrastructure;

namespace Cairn.IntegrationTests.Differential;

/// <summary>
/// The comparable record of a case run against one member: for each step, the command, its masked stdout and stderr
/// (one line per output line, prefixed <c>out| </c> / <c>err| </c>) and how it ended. Bytes that are not printable
/// UTF-8 are shown as <c>\xNN</c>; very long lines are shortened to a prefix plus their length and SHA-256, so they
/// are still compared in full.
/// </summary>
public sealed class Transcript
{
    private const int MaxLineChars = 2000;
    private readonly List<string> _lines = [];
    private readonly List<string> _longLines = [];

    /// <summary>
    /// Creates an empty transcript for the member described by <paramref name="member"/>, whose client endpoint
    /// (<c>127.0.0.1:&lt;port&gt;</c>) is <paramref name="endpoint"/> (see <see cref="Masking.Apply"/>).
    /// </summary>
    public Transcript(string member, string? endpoint = null)
    {
        Member = member;
        Endpoint = endpoint;
    }

    /// <summary>The member's client endpoint, replaced by <c>&lt;endpoint&gt;</c> in outputs.</summary>
    public string? Endpoint { get; }

    /// <summary>The last lines of the member's own log, taken when the case ended (for failure messages).</summary>
    public string MemberLog { get; set; } = "";

    /// <summary>Which member produced it (for messages).</summary>
    public string Member { get; }

    /// <summary>The transcript, line by line.</summary>
    public IReadOnlyList<string> Lines => _lines;

    /// <summary>The full text of the lines that <see cref="Lines"/> shows shortened, in order.</summary>
    public IReadOnlyList<string> LongLines => _longLines;

    /// <summary>Steps that hit the harness timeout (neither exited nor printed their <c>| head N</c> lines).</summary>
    public List<CaseStep> TimedOut { get; } = [];

    /// <summary>Appends one step and its result.</summary>
    public void Add(CaseStep step, CommandResult result)
    {
        _lines.Add($"[line {step.Line}] $ etcdctl {step.Source}");
        AddStream("out| ", result.Stdout);
        AddStream("err| ", result.Stderr);
        _lines.Add(result.End switch
        {
            CommandEnd.Exited => $"exit {result.ExitCode}",
            CommandEnd.StoppedAfterLines => $"(stopped after {step.HeadLines} lines)",
            _ => $"(TIMED OUT: no exit{(step.HeadLines is { } n ? $" and fewer than {n} lines" : "")})",
        });
        if (result.End == CommandEnd.TimedOut)
            TimedOut.Add(step);
    }

    /// <summary>Appends a free-form line (used by the harness self-tests to alter a transcript).</summary>
    public void AddRaw(string line) => _lines.Add(line);

    /// <summary>Replaces line <paramref name="index"/> (used by the harness self-tests to alter a transcript).</summary>
    public void ReplaceLine(int index, string line) => _lines[index] = line;

    /// <inheritdoc />
    public override string ToString() => string.Join('\n', _lines);

    private void AddStream(string prefix, byte[] bytes)
    {
        if (bytes.Length == 0)
            return;
        var text = Masking.Apply(Render(bytes), Endpoint);
        var endsWithNewline = text.EndsWith('\n');
        if (endsWithNewline)
            text = text[..^1];
        foreach (var line in text.Split('\n'))
        {
            if (line.Length > MaxLineChars)
                _longLines.Add(line);
            _lines.Add(prefix + Shorten(line));
        }
        if (!endsWithNewline)
            _lines.Add(prefix + "(no newline at end)");
    }

    /// <summary>UTF-8 text with control characters (but \n and \t) and invalid bytes written as \xNN.</summary>
    public static string Render(ReadOnlySpan<byte> bytes)
    {
        var sb = new StringBuilder(bytes.Length);
        while (!bytes.IsEmpty)
        {
            var status = Rune.DecodeFromUtf8(bytes, out var rune, out var consumed);
            if (status == System.Buffers.OperationStatus.Done && (rune.Value is '\n' or '\t' || !Rune.IsControl(rune)))
            {
                sb.Append(rune.ToString());
            }
            else
            {
                for (var k = 0; k < consumed; k++)
                    sb.Append(CultureInfo.InvariantCulture, $"\\x{bytes[k]:x2}");
            }
            bytes = bytes[Math.Max(consumed, 1)..];
        }
        return sb.ToString();
    }

    /// <summary>
    /// Where the first few pairs of differing long lines of <paramref name="expected"/> and <paramref name="actual"/>
    /// first differ, with some context, since the transcripts only show their hashes. Empty when none differ.
    /// </summary>
    public static string DescribeLongLineDifferences(Transcript expected, Transcript actual, int max = 3)
    {
        var sb = new StringBuilder();
        var shown = 0;
        for (var i = 0; i < Math.Min(expected._longLines.Count, actual._longLines.Count) && shown < max; i++)
        {
            var (a, b) = (expected._longLines[i], actual._longLines[i]);
            if (a == b)
                continue;
            var at = a.AsSpan().CommonPrefixLength(b);
            var from = Math.Max(0, at - 60);
            sb.Append(CultureInfo.InvariantCulture, $"long line #{i + 1} ({a.Length} vs {b.Length} chars) first differs at char {at}:\n");
            sb.Append("  - …").Append(a.AsSpan(from, Math.Min(a.Length - from, 160))).Append("…\n");
            sb.Append("  + …").Append(b.AsSpan(from, Math.Min(b.Length - from, 160))).Append("…\n");
            shown++;
        }
        return sb.ToString();
    }

    private static string Shorten(string line)
    {
        if (line.Length <= MaxLineChars)
            return line;
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(line)));
        return $"{line[..80]}… ({line.Length} chars, sha256 {hash})";
    }
}
