namespace Cairn.JepsenLite.Checkers;

public enum Validity { Valid, Invalid, Unknown }

/// <summary>A checker's result: valid / invalid / unknown (budget exceeded) with human-readable findings.</summary>
public sealed record CheckResult(string Checker, Validity Validity, IReadOnlyList<string> Problems, string Summary)
{
    public static CheckResult Ok(string checker, string summary) => new(checker, Validity.Valid, [], summary);

    public static CheckResult From(string checker, List<string> problems, string summary) =>
        new(checker, problems.Count == 0 ? Validity.Valid : Validity.Invalid, problems, summary);

    public override string ToString() =>
        $"{Checker}: {Validity} — {Summary}" + (Problems.Count == 0 ? "" : "\n  " + string.Join("\n  ", Problems.Take(20)) + (Problems.Count > 20 ? $"\n  ... {Problems.Count - 20} more" : ""));
}
