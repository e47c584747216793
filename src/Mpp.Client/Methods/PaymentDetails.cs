using Mpp.Client.Protocol;

namespace Mpp.Client;

/// <summary>What happened to the payment of one call: attached to every response the payment handler returns after a 402.</summary>
public sealed class PaymentDetails
{
    internal PaymentDetails(PaymentChallenge? challenge, PaymentQuote? quote, PaymentOutcome? outcome, PaymentReceipt? receipt, PaymentProblem? problem, int rounds, IReadOnlyList<PaymentRefusal> refusals, Guid? journalEntryId, bool isDryRun)
    {
        Challenge = challenge;
        Quote = quote;
        Outcome = outcome;
        Receipt = receipt;
        Problem = problem;
        Rounds = rounds;
        Refusals = refusals;
        JournalEntryId = journalEntryId;
        IsDryRun = isDryRun;
    }

    /// <summary>Gets the challenge paid (or, in a dry run, the one that would be), if any.</summary>
    public PaymentChallenge? Challenge { get; }

    /// <summary>Gets the quote paid (or that would be paid), if any.</summary>
    public PaymentQuote? Quote { get; }

    /// <summary>Gets what was paid: the quote's amount, or <see langword="null"/> when nothing was paid.</summary>
    public AssetAmount? AmountPaid => Outcome is null || IsDryRun ? null : Quote?.Amount;

    /// <summary>Gets the payment method id used, if any.</summary>
    public string? Method => Quote?.Method;

    /// <summary>Gets how the last payment ended; <see langword="null"/> when no credential was sent.</summary>
    public PaymentOutcome? Outcome { get; }

    /// <summary>Gets the server's receipt, when it sent a valid one.</summary>
    public PaymentReceipt? Receipt { get; }

    /// <summary>Gets the server's last problem details, if any.</summary>
    public PaymentProblem? Problem { get; }

    /// <summary>Gets how many credentials this call sent.</summary>
    public int Rounds { get; }

    /// <summary>Gets why challenges were not paid (policy, budget, no method…), in the order they were considered.</summary>
    public IReadOnlyList<PaymentRefusal> Refusals { get; }

    /// <summary>Gets the payment journal entry of the last credential sent, if any.</summary>
    public Guid? JournalEntryId { get; }

    /// <summary>Gets whether this was a dry run: nothing was signed or sent.</summary>
    public bool IsDryRun { get; }

    /// <summary>Gets whether the call ended paid and accepted.</summary>
    public bool IsPaid => Outcome == PaymentOutcome.Settled;
}

/// <summary>Why one challenge was not paid.</summary>
/// <param name="ChallengeId">The challenge id, when one was read.</param>
/// <param name="Rule">The rule that refused it, e.g. <c>budget.total</c> or <c>method.unsupported</c>.</param>
/// <param name="Reason">The explanation.</param>
public sealed record PaymentRefusal(string? ChallengeId, string Rule, string Reason);
