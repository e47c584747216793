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
    public PaymentQuote(PaymentChallenge challenge, AssetAmount amount, IReadOnlyList<string> recipients, AssetAmount? deposit = null, long? chainId = null)
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

    /// <summary>Gets the amount the budget must reserve: the deposit when there is one, else the amount.</summary>
    public AssetAmount Reserved => Deposit ?? Amount;

    /// <inheritdoc />
    public override string ToString() => $"{Method}/{Intent} {Amount} to {string.Join(", ", Recipients)}";
}
