namespace Cairn.Raft;

/// <summary>Thrown when bytes handed to <see cref="MessageCodec"/> or <see cref="ConfChangeCodec"/> are not a valid encoding.</summary>
public sealed class MessageFormatException : FormatException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What was wrong with the input.</param>
    public MessageFormatException(string message) : base("invalid raft encoding: " + message) { }
}
