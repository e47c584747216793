using Mpp.Client.Protocol;

namespace Mpp.Client;

/// <summary>What paying a challenge costs, as a method read it from the challenge's request.</summary>
public sealed class PaymentQuote
{
    /// <summary>Initializes a quote.</summary>
    /// <param name="challenge">The challenge quoted.</param>
    /// <param name="amount">What this call costs (for a session, the price of one call).</param>
    /// <param name="recipients">The payees, in the method's native form; empty when the method has none.</param>
    /// <param name="deposit">For a session that opens or tops up a channel, the deposit locked; otherwise <see langword="null"/>.</param>
    /// <param name="chainId">The chain the payment is made on, or <see langword="null"/> off-chain.</param>
    /// <param name="prefunded">
    /// Whether the money is already held by an earlier reservation (a session voucher drawing on a channel's deposit):
    /// the budget reserves nothing new and only the per-request limit applies.
    /// </param>
    public PaymentQuote(PaymentChallenge challenge, AssetAmount amount, IReadOnlyList<string> recipients, AssetAmount? deposit = null, long? chainId = null, bool prefunded = false)
    {
        ArgumentNullException.ThrowIfNull(challenge);
        ArgumentNullException.ThrowIfNull(recipients);
        if (amount.Units.Sign < 0 || deposit is { Units.Sign: < 0 })
        {
            throw new ArgumentOutOfRangeException(nameof(amount), "Amounts cannot be negative.");
        }

        Challenge = challenge;
        Amount = amount;
        Recipients = recipients;
        Deposit = deposit;
        ChainId = chainId;
        IsPrefunded = prefunded;
    }

    /// <summary>Gets the challenge quoted.</summary>
    public PaymentChallenge Challenge { get; }

    /// <summary>Gets the payment method id.</summary>
    public string Method => Challenge.Method;

    /// <summary>Gets the intent.</summary>
    public string Intent => Challenge.Intent;

    /// <summary>Gets what this call costs (a session's per-call price); checked against the per-request cap.</summary>
    public AssetAmount Amount { get; }

    /// <summary>Gets the deposit a session locks, counted against total and window limits; <see langword="null"/> otherwise.</summary>
    public AssetAmount? Deposit { get; }

    /// <summary>Gets the payees.</summary>
    public IReadOnlyList<string> Recipients { get; }

    /// <summary>Gets the chain id, or <see langword="null"/>.</summary>
    public long? ChainId { get; }

    /// <summary>Gets whether the call draws on money an earlier reservation already holds (a session channel's deposit).</summary>
    public bool IsPrefunded { get; }

    /// <summary>
    /// Gets whether the reservation made for this quote locks a deposit: the payment handler then hands the reservation to
    /// the method (in <see cref="PaymentSettlement.Reservation"/>), which commits what was spent and releases the rest when
    /// the channel closes.
    /// </summary>
    public bool LocksDeposit => Deposit is not null && !IsPrefunded;

    /// <summary>Gets or sets state the method keeps with the quote between quoting, signing and settlement; the handler never reads it.</summary>
    public object? MethodState { get; set; }

    /// <summary>Gets the amount the budget must reserve: nothing new when prefunded, else the deposit when there is one, else the amount.</summary>
    public AssetAmount Reserved => IsPrefunded ? new AssetAmount(Amount.Asset, 0) : Deposit ?? Amount;

    /// <inheritdoc />
    public override string ToString() => $"{Method}/{Intent} {Amount} to {string.Join(", ", Recipients)}";
}
