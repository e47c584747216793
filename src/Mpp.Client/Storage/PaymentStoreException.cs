namespace Mpp.Client;

/// <summary>
/// A durable store (the SQLite file or the PostgreSQL database behind the ledger, journal, receipts or channels) cannot be
/// used: unreachable, damaged, not MppClient's, or written by a newer version. Thrown before anything is signed, so nothing
/// was paid; a payment already under way keeps its money counted.
/// </summary>
public sealed class PaymentStoreException : MppException
{
    /// <summary>Initializes a new instance.</summary>
    /// <param name="message">What is wrong with the store and what to do about it.</param>
    /// <param name="innerException">The database error.</param>
    public PaymentStoreException(string message, Exception? innerException = null)
        : base(message, innerException)
    {
    }
}
