using System.Text;

namespace Cairn.IntegrationTests.Differential;

/// <summary>A small unified diff of two line lists (longest common subsequence; transcripts are short).</summary>
public static class LineDiff
{
    /// <summary>
    /// A unified diff of <paramref name="left"/> against <paramref name="right"/> with <paramref name="context"/> lines
    /// of context, or an empty string when they are equal. Each hunk header names the command the hunk belongs to
    /// (the last left line starting with <paramref name="sectionPrefix"/> before the hunk).
    /// </summary>
    public static string Unified(
        IReadOnlyList<string> left, IReadOnlyList<string> right, string leftName, string rightName, int context = 3, string sectionPrefix = "[line ")
    {
        var ops = Script(left, right);
        if (ops.All(o => o.Kind == ' '))
            return "";

        var sb = new StringBuilder();
        sb.Append("--- ").Append(leftName).Append('\n');
        sb.Append("+++ ").Append(rightName).Append('\n');
        var i = 0;
        while (i < ops.Count)
        {
            if (ops[i].Kind == ' ')
            {
                i++;
                continue;
            }
            var start = Math.Max(0, i - context);
            // Extend the hunk while changes are within 2*context of each other.
            var end = i;
            while (true)
            {
                var next = end;
                while (next < ops.Count && ops[next].Kind != ' ')
                    next++;
                var gapEnd = next;
                while (gapEnd < ops.Count && ops[gapEnd].Kind == ' ')
                    gapEnd++;
                if (gapEnd < ops.Count && gapEnd - next <= 2 * context)
                {
                    end = gapEnd;
                    continue;
                }
                end = Math.Min(ops.Count, next + context);
                break;
            }
            var leftStart = ops[start].LeftIndex;
            var rightStart = ops[start].RightIndex;
            var leftCount = ops.Skip(start).Take(end - start).Count(o => o.Kind != '+');
            var rightCount = ops.Skip(start).Take(end - start).Count(o => o.Kind != '-');
            var section = left.Take(leftStart + 1).LastOrDefault(l => l.StartsWith(sectionPrefix, StringComparison.Ordinal));
            sb.Append($"@@ -{leftStart + 1},{leftCount} +{rightStart + 1},{rightCount} @@");
            if (section is not null)
                sb.Append(' ').Append(section);
            sb.Append('\n');
            for (var k = start; k < end; k++)
                sb.Append(ops[k].Kind).Append(ops[k].Text).Append('\n');
            i = end;
        }
        return sb.ToString();
    }

    private readonly record struct Op(char Kind, string Text, int LeftIndex, int RightIndex);

    private static List<Op> Script(IReadOnlyList<string> a, IReadOnlyList<string> b)
    {
        var n = a.Count;
        var m = b.Count;
        var lcs = new int[n + 1, m + 1];
        for (var x = n - 1; x >= 0; x--)
        {
            for (var y = m - 1; y >= 0; y--)
                lcs[x, y] = a[x] == b[y] ? lcs[x + 1, y + 1] + 1 : Math.Max(lcs[x + 1, y], lcs[x, y + 1]);
        }
        var ops = new List<Op>(n + m);
        int i = 0, j = 0;
        while (i < n || j < m)
        {
            if (i < n && j < m && a[i] == b[j])
            {
                ops.Add(new Op(' ', a[i], i, j));
                i++;
                j++;
            }
            else if (i < n && (j == m || lcs[i + 1, j] >= lcs[i, j + 1]))
            {
                ops.Add(new Op('-', a[i], i, j));
                i++;
            }
            else
            {
                ops.Add(new Op('+', b[j], i, j));
                j++;
            }
        }
        return ops;
    }
}
