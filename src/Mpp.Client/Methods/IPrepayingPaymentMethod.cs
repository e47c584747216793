using Mpp.Client.Protocol;

namespace Mpp.Client;

/// <summary>
/// A method that can pay before the server asks: after a first 402 on a route, a session method keeps the still-valid
/// challenge and attaches the next voucher to the request itself, so each later paid call is one round trip
/// (design.md §2 step 1). A 402 answer to a prepaid request falls back to the normal path.
/// </summary>
public interface IPrepayingPaymentMethod : IPaymentMethod
{
    /// <summary>
    /// Called before a request is sent. Returns the credential to attach now, or <see langword="null"/> (cheaply) when
    /// nothing is known for the route. A returned payment must be followed by exactly one
    /// <see cref="IPaymentMethod.OnSettledAsync"/> call with its quote.
    /// </summary>
    /// <param name="context">The request about to be sent.</param>
    /// <param name="cancellationToken">Cancels the attempt.</param>
    /// <returns>The payment, or <see langword="null"/>.</returns>
    ValueTask<PrepaidPayment?> TryPrepayAsync(PaymentContext context, CancellationToken cancellationToken);
}

/// <summary>A credential a method attaches before the server asks for one.</summary>
/// <param name="Quote">What the call costs (usually prefunded by a session deposit).</param>
/// <param name="Credential">The credential.</param>
public sealed record PrepaidPayment(PaymentQuote Quote, PaymentCredential Credential);
