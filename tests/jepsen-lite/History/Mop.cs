namespace Cairn.JepsenLite.History;

/// <summary>
/// One micro-operation of a multi-key transaction (the append workload): a read of a key's list, or an append of
/// an element to it. A key holds its list as the elements joined by spaces; an absent key is the empty list.
/// </summary>
public sealed class Mop
{
    /// <summary>Read micro-op.</summary>
    public const string R = "r";
    /// <summary>Append micro-op.</summary>
    public const string Append = "append";

    /// <summary><see cref="R"/> or <see cref="Append"/>.</summary>
    public string F { get; set; } = R;
    /// <summary>The key.</summary>
    public string Key { get; set; } = "";
    /// <summary>r: the list read (only on a completed transaction).</summary>
    public List<string>? Read { get; set; }
    /// <summary>append: the element appended (unique per transaction).</summary>
    public string? Element { get; set; }
    /// <summary>append: the whole value the transaction writes (the list it compared against plus the element).</summary>
    public string? Written { get; set; }

    /// <summary>Parses a stored value into its list.</summary>
    public static List<string> Parse(string? value) => string.IsNullOrEmpty(value) ? [] : [.. value.Split(' ')];

    /// <summary>Formats a list as it is stored.</summary>
    public static string Format(IEnumerable<string> list) => string.Join(' ', list);

    /// <inheritdoc/>
    public override string ToString() => F == R ? $"r {Key} [{(Read == null ? "?" : Short(Read))}]" : $"append {Key} {Element}";

    /// <summary>A list for messages: long ones by their length and last elements.</summary>
    public static string Short(List<string> list) => list.Count <= 4 ? Format(list) : $"{list.Count} elements: … {Format(list.TakeLast(2))}";
}
