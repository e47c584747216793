using Mpp.Client.Protocol;

namespace Mpp.Client;

/// <summary>How a paid request ended.</summary>
public enum PaymentOutcome
{
    /// <summary>The server accepted the payment (2xx, or 403 after a valid payment).</summary>
    Settled,

    /// <summary>The server refused the credential (402 with a problem).</summary>
    Rejected,

    /// <summary>No answer was read after the credential left; money may have moved.</summary>
    Unknown,

    /// <summary>The credential was made but never left the process (for example the journal could not record it).</summary>
    NotSent,
}

/// <summary>The outcome of one payment, told to the method that made the credential.</summary>
/// <param name="Quote">The quote paid.</param>
/// <param name="Outcome">How it ended.</param>
/// <param name="Receipt">The server's receipt, when it sent a valid one.</param>
/// <param name="Problem">The server's problem details, when it refused.</param>
/// <param name="StatusCode">The HTTP status received, or <see langword="null"/> when none was.</param>
public sealed record PaymentSettlement(PaymentQuote Quote, PaymentOutcome Outcome, PaymentReceipt? Receipt, PaymentProblem? Problem, int? StatusCode)
{
    /// <summary>
    /// Gets the budget reservation of a quote that <see cref="PaymentQuote.LocksDeposit">locks a deposit</see>: the handler
    /// neither commits nor releases it, the method owns it from here on. <see langword="null"/> for other quotes.
    /// </summary>
    public SpendReservation? Reservation { get; init; }
}
