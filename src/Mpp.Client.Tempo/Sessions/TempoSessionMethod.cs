using Mpp.Client.Protocol;

namespace Mpp.Client.Tempo;

/// <summary>
/// The Tempo session method (<c>method="tempo"</c>, <c>intent="session"</c>) for the payment handler: opens a channel
/// on the first paid call, pays later ones with vouchers, and attaches the next voucher up front on routes it has seen
/// (one round trip per paid call). The channels live in the <see cref="TempoSessionManager"/>.
/// </summary>
public sealed class TempoSessionMethod : IPrepayingPaymentMethod, IPaymentSideChannelHolder
{
    private readonly TempoSessionManager _manager;

    /// <summary>Initializes the method over a manager.</summary>
    /// <param name="manager">The session manager.</param>
    public TempoSessionMethod(TempoSessionManager manager)
    {
        ArgumentNullException.ThrowIfNull(manager);
        _manager = manager;
    }

    /// <inheritdoc />
    public string Method => "tempo";

    /// <inheritdoc />
    public bool CanPay(PaymentChallenge challenge) => challenge is { Method: "tempo", Intent: "session" };

    /// <inheritdoc />
    public ValueTask<PaymentQuote> QuoteAsync(PaymentChallenge challenge, PaymentContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(challenge);
        ArgumentNullException.ThrowIfNull(context);
        return _manager.QuoteAsync(challenge, context, cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask<PaymentCredential> CreateCredentialAsync(PaymentQuote quote, PaymentContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(quote);
        ArgumentNullException.ThrowIfNull(context);
        return _manager.CreateCredentialAsync(quote, context, cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask<PaymentQuote?> TryPrepayAsync(PaymentContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        return _manager.TryPrepayAsync(context, cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask OnSettledAsync(PaymentSettlement settlement, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settlement);
        return _manager.OnSettledAsync(settlement);
    }

    /// <inheritdoc />
    void IPaymentSideChannelHolder.ForgetSideChannels(object owner) => _manager.ForgetSideChannels(owner);
}

/// <summary>A channel operation (close, request-close, withdraw) could not be done; the message says what to do next.</summary>
public sealed class TempoSessionException : MppException
{
    /// <summary>Initializes the exception.</summary>
    /// <param name="channelId">The channel concerned.</param>
    /// <param name="message">What went wrong and what to do next.</param>
    public TempoSessionException(string channelId, string message)
        : base(message)
    {
        ChannelId = channelId;
    }

    internal TempoSessionException(string channelId, string message, Exception? innerException)
        : base(message, innerException)
    {
        ChannelId = channelId;
    }

    /// <summary>Gets the channel concerned.</summary>
    public string ChannelId { get; }
}
