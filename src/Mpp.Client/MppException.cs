namespace Mpp.Client;

/// <summary>
/// The root of every exception MppClient throws on purpose. It deliberately does not derive from
/// <see cref="System.Net.Http.HttpRequestException"/>: resilience pipelines retry those, and a retry
/// must never be able to pay a second time.
/// </summary>
public abstract class MppException : Exception
{
    /// <summary>Initializes a new instance with a message.</summary>
    /// <param name="message">What went wrong, free of keys, credentials and vouchers.</param>
    protected MppException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance with a message and the exception that caused it.</summary>
    /// <param name="message">What went wrong, free of keys, credentials and vouchers.</param>
    /// <param name="innerException">The cause.</param>
    protected MppException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
