namespace Cairn.Node;

/// <summary>A configuration error, reported at start with the flag or variable at fault.</summary>
public sealed class ConfigException(string message) : Exception(message);
