using Mpp.Client.Protocol;

namespace Mpp.Client;

/// <summary>
/// A way to pay: one payment method (for example <c>stripe</c>) and the intents it handles. The payment
/// handler asks it to <see cref="CanPay"/>, to <see cref="QuoteAsync">quote</see> a challenge (before any
/// policy or budget check), and only after the budget reservation holds to
/// <see cref="CreateCredentialAsync">create the credential</see>.
/// </summary>
/// <remarks>
/// Implementations are singletons and must be thread-safe. <see cref="CreateCredentialAsync"/> must not move
/// money before it returns unless it throws <see cref="PaymentOutcomeUnknownException"/> on failure
/// (push-mode methods broadcast while creating the credential).
/// </remarks>
public interface IPaymentMethod
{
    /// <summary>Gets the payment method id this implementation handles, for example <c>stripe</c>.</summary>
    string Method { get; }

    /// <summary>Can this method pay the challenge (method, intent and a request it understands)? Must be cheap and must not throw.</summary>
    /// <param name="challenge">The challenge.</param>
    /// <returns><see langword="true"/> when <see cref="QuoteAsync"/> is worth calling.</returns>
    bool CanPay(PaymentChallenge challenge);

    /// <summary>Reads what paying the challenge would cost and to whom, validating the request. Signs nothing.</summary>
    /// <param name="challenge">The challenge.</param>
    /// <param name="context">The request being paid for.</param>
    /// <param name="cancellationToken">Cancels the quote.</param>
    /// <returns>The quote.</returns>
    /// <exception cref="PaymentDeniedException">The request is malformed or unpayable (rule <c>method.invalid-request</c>).</exception>
    ValueTask<PaymentQuote> QuoteAsync(PaymentChallenge challenge, PaymentContext context, CancellationToken cancellationToken);

    /// <summary>Creates the credential for a quote the policy allowed and the budget reserved.</summary>
    /// <param name="quote">The quote returned by <see cref="QuoteAsync"/>.</param>
    /// <param name="context">The request being paid for.</param>
    /// <param name="cancellationToken">Cancels the creation.</param>
    /// <returns>The credential.</returns>
    ValueTask<PaymentCredential> CreateCredentialAsync(PaymentQuote quote, PaymentContext context, CancellationToken cancellationToken);

    /// <summary>Told the outcome of a payment made with one of this method's credentials.</summary>
    /// <param name="settlement">The outcome.</param>
    /// <param name="cancellationToken">Cancels the notification.</param>
    /// <returns>A task.</returns>
    ValueTask OnSettledAsync(PaymentSettlement settlement, CancellationToken cancellationToken);
}
