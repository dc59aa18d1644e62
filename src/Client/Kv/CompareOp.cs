namespace Cairn.Client;

/// <summary>The comparison of a transaction guard (etcd's Compare.CompareResult).</summary>
public enum CompareOp
{
    /// <summary>The key's attribute equals the operand.</summary>
    Equal,

    /// <summary>The key's attribute is greater than the operand.</summary>
    Greater,

    /// <summary>The key's attribute is less than the operand.</summary>
    Less,

    /// <summary>The key's attribute differs from the operand.</summary>
    NotEqual,
}
