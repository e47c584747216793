namespace Mpp.Client;

/// <summary>
/// A rule every payment must pass before anything is signed. Policies registered with
/// <c>AddMpp().AddPolicy&lt;T&gt;()</c> run after the built-in ones (allow-lists, expiry, per-request limit).
/// </summary>
public interface IPaymentPolicy
{
    /// <summary>Decides on a quote.</summary>
    /// <param name="quote">What would be paid.</param>
    /// <param name="context">The request it is for.</param>
    /// <param name="cancellationToken">Cancels the evaluation.</param>
    /// <returns>Allow, deny with a reason, or ask the approver.</returns>
    ValueTask<PaymentDecision> EvaluateAsync(PaymentQuote quote, PaymentContext context, CancellationToken cancellationToken);
}

/// <summary>What a policy decided.</summary>
public enum PaymentDecisionKind
{
    /// <summary>This policy has no objection.</summary>
    Allow,

    /// <summary>The payment must not be made.</summary>
    Deny,

    /// <summary>The payment may be made only if the <see cref="IPaymentApprover"/> agrees.</summary>
    RequireApproval,
}

/// <summary>A policy's decision.</summary>
/// <param name="Kind">The decision.</param>
/// <param name="Rule">The rule, e.g. <c>policy.host</c>; set on a denial.</param>
/// <param name="Reason">The explanation.</param>
public readonly record struct PaymentDecision(PaymentDecisionKind Kind, string? Rule, string? Reason)
{
    /// <summary>Gets the decision that raises no objection.</summary>
    public static PaymentDecision Allow { get; } = new(PaymentDecisionKind.Allow, null, null);

    /// <summary>A denial.</summary>
    /// <param name="rule">The rule that denies.</param>
    /// <param name="reason">The explanation.</param>
    /// <returns>The decision.</returns>
    public static PaymentDecision Deny(string rule, string reason) => new(PaymentDecisionKind.Deny, rule, reason);

    /// <summary>A request for the approver's consent.</summary>
    /// <param name="reason">Why consent is needed.</param>
    /// <returns>The decision.</returns>
    public static PaymentDecision RequireApproval(string reason) => new(PaymentDecisionKind.RequireApproval, "approval.required", reason);
}

/// <summary>Asked before a payment that needs consent (a person, a chat, a rules engine). May take as long as it likes; honour the token.</summary>
public interface IPaymentApprover
{
    /// <summary>Approves or refuses a payment.</summary>
    /// <param name="quote">What would be paid, to whom, for which request.</param>
    /// <param name="context">The request it is for.</param>
    /// <param name="cancellationToken">Cancelled when the caller gives up.</param>
    /// <returns><see langword="true"/> to pay.</returns>
    ValueTask<bool> ApproveAsync(PaymentQuote quote, PaymentContext context, CancellationToken cancellationToken);
}
