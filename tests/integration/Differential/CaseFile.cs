using System.Globalization;
using System.Text;

namespace Cairn.IntegrationTests.Differential;

/// <summary>One etcdctl invocation of a case.</summary>
/// <param name="Args">The etcdctl arguments (the harness adds <c>--endpoints</c> and <c>--command-timeout</c>).</param>
/// <param name="Stdin">Bytes fed to etcdctl's stdin, or null for none.</param>
/// <param name="HeadLines">For commands that do not end by themselves (<c>watch</c>): stop after this many stdout lines.</param>
/// <param name="Source">The command line as written in the case file, shown in transcripts.</param>
/// <param name="Line">Its 1-based line number in the case file.</param>
public sealed record CaseStep(IReadOnlyList<string> Args, byte[]? Stdin, int? HeadLines, string Source, int Line);

/// <summary>A named list of etcdctl invocations run in order against one fresh member.</summary>
/// <param name="File">The case file name (e.g. <c>get.txt</c>).</param>
/// <param name="Name">The case name, unique in its file.</param>
/// <param name="Line">Line of the <c>===</c> header.</param>
/// <param name="Steps">The invocations.</param>
public sealed record DifferentialCase(string File, string Name, int Line, IReadOnlyList<CaseStep> Steps)
{
    /// <inheritdoc />
    public override string ToString() => $"{File}:{Line} '{Name}'";
}

/// <summary>
/// Parser of the differential case files (<c>Differential/cases/*.txt</c>). Format, line by line:
/// <list type="bullet">
/// <item><c>=== name</c> starts a case; every case runs on a fresh member.</item>
/// <item><c># text</c> is a comment; blank lines are ignored.</item>
/// <item>Any other line is one etcdctl invocation: its arguments, split on spaces. <c>"..."</c> quotes
/// (escapes <c>\"</c> <c>\\</c> <c>\n</c> <c>\t</c> <c>\xNN</c> for NN in 01..7f) and <c>'...'</c> quotes (literal)
/// work as in a shell, including <c>""</c> for an empty argument; a backslash outside quotes is literal.</item>
/// <item>After the arguments, unquoted and in any order:
/// <c>&lt;&lt;EOF</c> feeds the following lines, up to a line <c>EOF</c>, to stdin (each line ends with \n; a line
/// <c>@repeat N text</c> in there stands for N lines of text with <c>{i}</c> replaced by 1..N);
/// <c>&lt; repeat N text</c> feeds text repeated N times (no newline) to stdin;
/// <c>| head N</c> stops the command once it has printed N lines on stdout (required for <c>watch</c>, which never ends).</item>
/// </list>
/// </summary>
public static class CaseFile
{
    /// <summary>Parses the text of case file <paramref name="fileName"/>.</summary>
    public static IReadOnlyList<DifferentialCase> Parse(string fileName, string text)
    {
        var lines = text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
        var cases = new List<DifferentialCase>();
        string? name = null;
        var nameLine = 0;
        var steps = new List<CaseStep>();

        void Flush()
        {
            if (name is null)
                return;
            if (steps.Count == 0)
                throw Error(fileName, nameLine, $"case '{name}' has no commands");
            if (cases.Any(c => c.Name == name))
                throw Error(fileName, nameLine, $"duplicate case name '{name}'");
            cases.Add(new DifferentialCase(fileName, name, nameLine, steps.ToArray()));
            steps.Clear();
        }

        for (var i = 0; i < lines.Length; i++)
        {
            var lineNo = i + 1;
            var line = lines[i].Trim();
            if (line.Length == 0 || line.StartsWith('#'))
                continue;
            if (line.StartsWith("===", StringComparison.Ordinal))
            {
                Flush();
                name = line[3..].Trim();
                nameLine = lineNo;
                if (name.Length == 0)
                    throw Error(fileName, lineNo, "a case needs a name after '==='");
                continue;
            }
            if (name is null)
                throw Error(fileName, lineNo, "command before the first '=== name' line");

            var tokens = Tokenize(line, fileName, lineNo);
            var args = new List<string>();
            byte[]? stdin = null;
            int? head = null;
            var t = 0;
            for (; t < tokens.Count && !tokens[t].IsOperator; t++)
                args.Add(tokens[t].Text);
            if (args.Count == 0)
                throw Error(fileName, lineNo, "no etcdctl arguments");

            while (t < tokens.Count)
            {
                var op = tokens[t];
                if (!op.IsOperator)
                    throw Error(fileName, lineNo, $"unexpected '{op.Text}' after a redirection");
                if (op.Text.StartsWith("<<", StringComparison.Ordinal))
                {
                    if (stdin is not null)
                        throw Error(fileName, lineNo, "stdin given twice");
                    var tag = op.Text[2..];
                    if (tag.Length == 0)
                        throw Error(fileName, lineNo, "'<<' needs a tag, e.g. <<EOF");
                    var body = new StringBuilder();
                    var closed = false;
                    while (++i < lines.Length)
                    {
                        if (lines[i].Trim() == tag)
                        {
                            closed = true;
                            break;
                        }
                        AppendHeredocLine(body, lines[i], fileName, i + 1);
                    }
                    if (!closed)
                        throw Error(fileName, lineNo, $"heredoc not closed by a line '{tag}'");
                    stdin = Encoding.UTF8.GetBytes(body.ToString());
                    t++;
                }
                else if (op.Text == "<")
                {
                    if (stdin is not null)
                        throw Error(fileName, lineNo, "stdin given twice");
                    if (t + 3 >= tokens.Count || tokens[t + 1].Text != "repeat" || !int.TryParse(tokens[t + 2].Text, CultureInfo.InvariantCulture, out var count) || count < 0)
                        throw Error(fileName, lineNo, "expected '< repeat N text'");
                    stdin = Encoding.UTF8.GetBytes(new StringBuilder().Insert(0, tokens[t + 3].Text, count).ToString());
                    t += 4;
                }
                else if (op.Text == "|")
                {
                    if (t + 2 >= tokens.Count || tokens[t + 1].Text != "head" || !int.TryParse(tokens[t + 2].Text, CultureInfo.InvariantCulture, out var n) || n <= 0)
                        throw Error(fileName, lineNo, "expected '| head N'");
                    head = n;
                    t += 3;
                }
                else
                {
                    throw Error(fileName, lineNo, $"unknown operator '{op.Text}'");
                }
            }
            if (args[0] == "watch" && head is null)
                throw Error(fileName, lineNo, "watch never ends by itself: add '| head N' (and use --rev so that the events are history)");
            steps.Add(new CaseStep(args, stdin, head, line, lineNo));
        }
        Flush();
        return cases;
    }

    private static void AppendHeredocLine(StringBuilder body, string rawLine, string fileName, int lineNo)
    {
        var line = rawLine.TrimEnd('\r');
        if (line.TrimStart().StartsWith("@repeat ", StringComparison.Ordinal))
        {
            var parts = line.TrimStart().Split(' ', 3);
            if (parts.Length < 3 || !int.TryParse(parts[1], CultureInfo.InvariantCulture, out var n) || n < 0)
                throw Error(fileName, lineNo, "expected '@repeat N text'");
            for (var k = 1; k <= n; k++)
                body.Append(parts[2].Replace("{i}", k.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)).Append('\n');
            return;
        }
        body.Append(line).Append('\n');
    }

    private readonly record struct Token(string Text, bool IsOperator);

    private static List<Token> Tokenize(string line, string fileName, int lineNo)
    {
        var tokens = new List<Token>();
        var current = new StringBuilder();
        var inToken = false;
        var quoted = false;
        var i = 0;

        void End()
        {
            if (!inToken)
                return;
            var text = current.ToString();
            var isOperator = !quoted && (text == "|" || text == "<" || text.StartsWith("<<", StringComparison.Ordinal));
            tokens.Add(new Token(text, isOperator));
            current.Clear();
            inToken = false;
            quoted = false;
        }

        while (i < line.Length)
        {
            var c = line[i];
            if (c is ' ' or '\t')
            {
                End();
                i++;
            }
            else if (c == '\'')
            {
                inToken = quoted = true;
                var close = line.IndexOf('\'', i + 1);
                if (close < 0)
                    throw Error(fileName, lineNo, "unterminated '");
                current.Append(line, i + 1, close - i - 1);
                i = close + 1;
            }
            else if (c == '"')
            {
                inToken = quoted = true;
                i++;
                while (true)
                {
                    if (i >= line.Length)
                        throw Error(fileName, lineNo, "unterminated \"");
                    var d = line[i++];
                    if (d == '"')
                        break;
                    if (d != '\\')
                    {
                        current.Append(d);
                        continue;
                    }
                    if (i >= line.Length)
                        throw Error(fileName, lineNo, "dangling \\");
                    var e = line[i++];
                    switch (e)
                    {
                        case '"': current.Append('"'); break;
                        case '\\': current.Append('\\'); break;
                        case 'n': current.Append('\n'); break;
                        case 't': current.Append('\t'); break;
                        case 'x':
                            if (i + 2 > line.Length || !byte.TryParse(line.AsSpan(i, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var b) || b is 0 or > 0x7f)
                                throw Error(fileName, lineNo, "\\xNN needs two hex digits for 01..7f (process arguments cannot hold NUL or raw bytes)");
                            current.Append((char)b);
                            i += 2;
                            break;
                        default:
                            throw Error(fileName, lineNo, $"unknown escape \\{e}");
                    }
                }
            }
            else
            {
                inToken = true;
                current.Append(c);
                i++;
            }
        }
        End();
        return tokens;
    }

    private static FormatException Error(string fileName, int line, string message) => new($"{fileName}:{line}: {message}");
}
