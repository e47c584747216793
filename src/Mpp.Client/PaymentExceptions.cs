using Mpp.Client.Protocol;

namespace Mpp.Client;

/// <summary>A payment was refused on this side, before anything was signed: by a policy, the budget, the approver, or because no method can pay.</summary>
public sealed class PaymentDeniedException : MppException
{
    /// <summary>Initializes a new instance.</summary>
    /// <param name="rule">The rule that denied, e.g. <c>budget.total</c>.</param>
    /// <param name="message">The explanation.</param>
    /// <param name="refusals">Every refusal of the call, when several challenges were considered.</param>
    public PaymentDeniedException(string rule, string message, IReadOnlyList<PaymentRefusal>? refusals = null)
        : base(message)
    {
        Rule = rule;
        Refusals = refusals ?? [new PaymentRefusal(null, rule, message)];
    }

    /// <summary>Gets the rule that denied the (last considered) payment.</summary>
    public string Rule { get; }

    /// <summary>Gets every refusal of the call.</summary>
    public IReadOnlyList<PaymentRefusal> Refusals { get; }
}

/// <summary>The server refused a credential that was sent, and no further payment round was allowed or possible.</summary>
public sealed class PaymentRejectedException : MppException
{
    /// <summary>Initializes a new instance.</summary>
    /// <param name="message">The explanation.</param>
    /// <param name="statusCode">The HTTP status of the refusal.</param>
    /// <param name="problem">The server's problem details, if it sent any.</param>
    /// <param name="details">What was paid and tried.</param>
    public PaymentRejectedException(string message, int statusCode, PaymentProblem? problem, PaymentDetails? details)
        : base(message)
    {
        StatusCode = statusCode;
        Problem = problem;
        Details = details;
    }

    /// <summary>Gets the HTTP status of the refusal.</summary>
    public int StatusCode { get; }

    /// <summary>Gets the problem details, if the server sent any.</summary>
    public PaymentProblem? Problem { get; }

    /// <summary>Gets what was paid and tried.</summary>
    public PaymentDetails? Details { get; }
}

/// <summary>
/// The credential left this process but no answer was read (connection dropped, timeout, cancellation).
/// The server may have taken the payment: the budget reservation is kept and nothing is paid again
/// automatically. Reconcile with the journal entry.
/// </summary>
public sealed class PaymentOutcomeUnknownException : MppException
{
    /// <summary>Initializes a new instance.</summary>
    /// <param name="message">The explanation.</param>
    /// <param name="journalEntryId">The payment journal entry of the credential sent.</param>
    /// <param name="challengeId">The challenge paid.</param>
    /// <param name="innerException">The transport failure.</param>
    public PaymentOutcomeUnknownException(string message, Guid journalEntryId, string challengeId, Exception? innerException)
        : base(message, innerException)
    {
        JournalEntryId = journalEntryId;
        ChallengeId = challengeId;
    }

    /// <summary>Gets the journal entry of the credential sent.</summary>
    public Guid JournalEntryId { get; }

    /// <summary>Gets the challenge id paid.</summary>
    public string ChallengeId { get; }
}

/// <summary>The payment configuration is invalid or incomplete (also reported at start-up by options validation).</summary>
public sealed class PaymentConfigurationException : MppException
{
    /// <summary>Initializes a new instance.</summary>
    /// <param name="message">What is wrong and how to fix it.</param>
    public PaymentConfigurationException(string message)
        : base(message)
    {
    }
}
