namespace Mpp.Client;

/// <summary>
/// A method that can pay before the server asks: after a first 402 on a route, a session method keeps the still-valid
/// challenge and attaches the next voucher to the request itself, so each later paid call is one round trip
/// (design.md §2 step 1). A 402 answer to a prepaid request falls back to the normal path.
/// </summary>
public interface IPrepayingPaymentMethod : IPaymentMethod
{
    /// <summary>
    /// Called before a request is sent. Returns a quote for paying it now, or <see langword="null"/> (cheaply) when
    /// nothing is known for the route. Signs nothing: the handler applies the policy and budget checks, then calls
    /// <see cref="IPaymentMethod.CreateCredentialAsync"/> with the quote. A returned quote must be followed by exactly
    /// one <see cref="IPaymentMethod.OnSettledAsync"/> call (with <see cref="PaymentOutcome.NotSent"/> when it is not used),
    /// unless <see cref="IPaymentMethod.CreateCredentialAsync"/> throws.
    /// </summary>
    /// <param name="context">The request about to be sent.</param>
    /// <param name="cancellationToken">Cancels the attempt.</param>
    /// <returns>The quote, or <see langword="null"/>.</returns>
    ValueTask<PaymentQuote?> TryPrepayAsync(PaymentContext context, CancellationToken cancellationToken);
}
