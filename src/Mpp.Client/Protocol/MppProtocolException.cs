namespace Mpp.Client.Protocol;

/// <summary>What kind of protocol operation failed.</summary>
public enum MppProtocolErrorKind
{
    /// <summary>A header value or JSON document received from a peer could not be parsed or failed validation.</summary>
    Parse,

    /// <summary>A value could not be written to the wire (for example a CR or LF inside a header parameter).</summary>
    Format,

    /// <summary>A base64url or UTF-8 encoding error.</summary>
    Encoding,
}

/// <summary>
/// A wire-format value is malformed or cannot be written. The message names the offending parameter
/// and, for header values, the zero-based character position where the problem was found.
/// </summary>
/// <remarks>
/// Parsers in <see cref="Mpp.Client.Protocol"/> throw only this exception for bad input; any other
/// exception type escaping from them is a bug.
/// </remarks>
public sealed class MppProtocolException : MppException
{
    /// <summary>Initializes a new instance.</summary>
    /// <param name="kind">The kind of failure.</param>
    /// <param name="message">The explanation.</param>
    /// <param name="parameter">The parameter or JSON member at fault, if any.</param>
    /// <param name="position">The zero-based character position in the header value, if known.</param>
    public MppProtocolException(MppProtocolErrorKind kind, string message, string? parameter = null, int? position = null)
        : base(message)
    {
        Kind = kind;
        Parameter = parameter;
        Position = position;
    }

    /// <summary>Gets the kind of failure.</summary>
    public MppProtocolErrorKind Kind { get; }

    /// <summary>Gets the parameter or JSON member at fault, or <see langword="null"/> when the failure is not tied to one.</summary>
    public string? Parameter { get; }

    /// <summary>Gets the zero-based character position in the header value where the failure was found, if known.</summary>
    public int? Position { get; }

    internal static MppProtocolException Parse(string message, string? parameter = null, int? position = null)
        => new(MppProtocolErrorKind.Parse, message, parameter, position);

    internal static MppProtocolException Format(string message, string? parameter = null)
        => new(MppProtocolErrorKind.Format, message, parameter);

    internal static MppProtocolException Encoding(string message, string? parameter = null)
        => new(MppProtocolErrorKind.Encoding, message, parameter);
}
