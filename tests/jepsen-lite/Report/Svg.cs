using System.Globalization;
using System.Text;
using Cairn.JepsenLite.History;

namespace Cairn.JepsenLite.Report;

/// <summary>Latency of every register operation over time (log scale), fault windows shaded, written by hand as SVG.</summary>
public static class Svg
{
    public static string Latency(IReadOnlyList<Op> history, string title)
    {
        const int W = 1200, H = 500, L = 70, R = 20, T = 40, B = 50;
        var inv = new Dictionary<int, Op>();
        var points = new List<(double T, double Ms, string Type, string F)>();
        var faults = new List<(double Start, double End, string Label)>();
        var faultOpen = new Dictionary<string, (double, string)>();
        foreach (var op in history)
        {
            if (op.F == Fn.Nemesis)
            {
                if (op.Type == OpType.Invoke) faultOpen[op.Key!] = (op.TimeNs / 1e9, op.Value ?? op.Key!);
                else if (faultOpen.Remove(op.Key!, out var s)) faults.Add((s.Item1, op.TimeNs / 1e9, s.Item2));
                continue;
            }
            if (op.F is not (Fn.Read or Fn.Write or Fn.Cas or Fn.Txn)) continue;
            if (op.Type == OpType.Invoke) inv[op.Process] = op;
            else if (inv.Remove(op.Process, out var i)) points.Add((i.TimeNs / 1e9, Math.Max(0.01, (op.TimeNs - i.TimeNs) / 1e6), op.Type, op.F));
        }
        double tMax = Math.Max(1, points.Count == 0 ? 1 : points.Max(p => p.T));
        tMax = Math.Max(tMax, faults.Count == 0 ? 0 : faults.Max(f => f.End));
        double lo = Math.Log10(0.1), hi = Math.Log10(10_000);
        string F(double v) => v.ToString("0.##", CultureInfo.InvariantCulture);
        double X(double t) => L + t / tMax * (W - L - R);
        double Y(double ms) => T + (hi - Math.Log10(Math.Clamp(ms, 0.1, 10_000))) / (hi - lo) * (H - T - B);
        var sb = new StringBuilder();
        sb.AppendLine($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" font-family=\"sans-serif\" font-size=\"11\">");
        sb.AppendLine($"<rect width=\"{W}\" height=\"{H}\" fill=\"white\"/>");
        sb.AppendLine($"<text x=\"{L}\" y=\"20\" font-size=\"14\">{Esc(title)}</text>");
        var colors = new[] { "#fbb4ae", "#b3cde3", "#ccebc5", "#decbe4", "#fed9a6", "#ffffcc", "#e5d8bd", "#fddaec" };
        int fi = 0;
        foreach (var (s, e, label) in faults)
        {
            var c = colors[Math.Abs(label.Split(' ')[0].GetHashCode(StringComparison.Ordinal)) % colors.Length];
            sb.AppendLine($"<rect x=\"{F(X(s))}\" y=\"{T}\" width=\"{F(Math.Max(1, X(e) - X(s)))}\" height=\"{H - T - B}\" fill=\"{c}\" opacity=\"0.6\"><title>{Esc(label)} {F(s)}–{F(e)} s</title></rect>");
            sb.AppendLine($"<text x=\"{F(X(s) + 2)}\" y=\"{T + 12 + (fi++ % 4) * 12}\" font-size=\"9\" fill=\"#555\">{Esc(label)}</text>");
        }
        for (int d = -1; d <= 4; d++)
        {
            double y = Y(Math.Pow(10, d));
            sb.AppendLine($"<line x1=\"{L}\" x2=\"{W - R}\" y1=\"{F(y)}\" y2=\"{F(y)}\" stroke=\"#ddd\"/>");
            sb.AppendLine($"<text x=\"{L - 5}\" y=\"{F(y + 4)}\" text-anchor=\"end\">{F(Math.Pow(10, d))} ms</text>");
        }
        int step = Math.Max(1, (int)(tMax / 10));
        for (int s = 0; s <= tMax; s += step)
        {
            sb.AppendLine($"<line x1=\"{F(X(s))}\" x2=\"{F(X(s))}\" y1=\"{H - B}\" y2=\"{H - B + 4}\" stroke=\"black\"/>");
            sb.AppendLine($"<text x=\"{F(X(s))}\" y=\"{H - B + 16}\" text-anchor=\"middle\">{s} s</text>");
        }
        sb.AppendLine($"<line x1=\"{L}\" x2=\"{W - R}\" y1=\"{H - B}\" y2=\"{H - B}\" stroke=\"black\"/><line x1=\"{L}\" x2=\"{L}\" y1=\"{T}\" y2=\"{H - B}\" stroke=\"black\"/>");
        foreach (var (t, ms, type, f) in points)
        {
            var color = type switch { OpType.Ok => f == Fn.Read ? "#1b9e77" : "#2c7fb8", OpType.Fail => "#d95f02", _ => "#e7298a" };
            var shape = type == OpType.Ok ? $"<circle cx=\"{F(X(t))}\" cy=\"{F(Y(ms))}\" r=\"1.5\" fill=\"{color}\"/>"
                : $"<rect x=\"{F(X(t) - 2)}\" y=\"{F(Y(ms) - 2)}\" width=\"4\" height=\"4\" fill=\"{color}\"/>";
            sb.AppendLine(shape);
        }
        int ly = H - 18;
        var legend = new[] { ("#1b9e77", "read ok"), ("#2c7fb8", "write/cas ok"), ("#d95f02", "fail"), ("#e7298a", "info (unknown)") };
        for (int i = 0; i < legend.Length; i++)
        {
            sb.AppendLine($"<rect x=\"{L + i * 140}\" y=\"{ly - 8}\" width=\"8\" height=\"8\" fill=\"{legend[i].Item1}\"/><text x=\"{L + i * 140 + 12}\" y=\"{ly}\">{legend[i].Item2}</text>");
        }
        sb.AppendLine($"<text x=\"{L + 600}\" y=\"{ly}\">shaded: fault windows; y: latency (log)</text>");
        sb.AppendLine("</svg>");
        return sb.ToString();
    }

    private static string Esc(string s) => s.Replace("&", "&amp;", StringComparison.Ordinal).Replace("<", "&lt;", StringComparison.Ordinal).Replace(">", "&gt;", StringComparison.Ordinal);
}
