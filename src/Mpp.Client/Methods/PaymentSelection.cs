using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Mpp.Client.Protocol;

namespace Mpp.Client;

/// <summary>A challenge a method quoted and the policy did not deny, with its preference rank.</summary>
internal sealed record PaymentCandidate(IPaymentMethod Method, PaymentQuote Quote, bool NeedsApproval, int Rank);

/// <summary>The state of one logical paid call across its payment rounds, whatever the transport.</summary>
internal class NegotiationState
{
    public int Rounds { get; set; }

    public int VerificationFailures { get; set; }

    public HashSet<string> PaidChargeIds { get; } = new(StringComparer.Ordinal);

    public List<PaymentRefusal> Refusals { get; } = [];

    public PaymentQuote? LastQuote { get; set; }

    public PaymentOutcome? LastOutcome { get; set; }

    public PaymentProblem? LastProblem { get; set; }

    public Guid? JournalEntryId { get; set; }

    public void Refuse(PaymentServices services, string? challengeId, string rule, string reason)
    {
        Refusals.Add(new PaymentRefusal(challengeId, rule, reason));
        services.Metrics.Denial(rule);
        Log.ChallengeRefused(services.Logger, challengeId, rule, reason);
    }

    public PaymentDetails Details(PaymentQuote? quote, PaymentOutcome? outcome, PaymentReceipt? receipt, bool isDryRun)
        => new(quote?.Challenge, quote, outcome, receipt, LastProblem, Rounds, [.. Refusals], JournalEntryId, isDryRun);
}

/// <summary>
/// The transport-neutral half of paying (design.md §2): quoting every challenge, the built-in and custom policies, the
/// approver, the budget reservation, and the receipt checks. The HTTP payment handler and the JSON-RPC/MCP bindings
/// share it, so a payment is decided the same way whatever carries it.
/// </summary>
internal static class PaymentSelection
{
    public static async ValueTask<List<PaymentCandidate>> SelectAsync(PaymentServices services, IReadOnlyList<PaymentChallenge> challenges, PaymentContext context, MppPaymentOptions options, NegotiationState call, CancellationToken cancellationToken)
    {
        var now = services.Time.GetUtcNow();
        var candidates = new List<PaymentCandidate>();
        for (var index = 0; index < challenges.Count; index++)
        {
            var challenge = challenges[index];
            if (call.PaidChargeIds.Contains(challenge.Id))
            {
                call.Refuse(services, challenge.Id, "challenge.already-paid", "A credential for this charge challenge was already sent in this call.");
                continue;
            }

            IPaymentMethod? method = null;
            foreach (var registered in services.Methods)
            {
                if (registered.Method == challenge.Method && registered.CanPay(challenge))
                {
                    method = registered;
                    break;
                }
            }

            if (method is null)
            {
                call.Refuse(services, challenge.Id, "method.unsupported", $"No registered payment method pays {challenge.Method}/{challenge.Intent}.");
                continue;
            }

            PaymentQuote quote;
            try
            {
                quote = await method.QuoteAsync(challenge, context, cancellationToken).ConfigureAwait(false);
            }
            catch (PaymentDeniedException ex)
            {
                call.Refuse(services, challenge.Id, ex.Rule, ex.Message);
                continue;
            }
            catch (MppProtocolException ex)
            {
                call.Refuse(services, challenge.Id, "method.invalid-request", ex.Message);
                continue;
            }

            var decision = BuiltInPolicy.Evaluate(quote, context, options, now);
            var needsApproval = decision.Kind == PaymentDecisionKind.RequireApproval;
            foreach (var policy in services.Policies)
            {
                if (decision.Kind == PaymentDecisionKind.Deny)
                {
                    break;
                }

                var next = await policy.EvaluateAsync(quote, context, cancellationToken).ConfigureAwait(false);
                if (next.Kind == PaymentDecisionKind.RequireApproval)
                {
                    needsApproval = true;
                }
                else if (next.Kind == PaymentDecisionKind.Deny)
                {
                    decision = next;
                }
            }

            if (decision.Kind == PaymentDecisionKind.Deny)
            {
                call.Refuse(services, challenge.Id, decision.Rule ?? "policy.denied", decision.Reason ?? "A payment policy denied it.");
                continue;
            }

            candidates.Add(new PaymentCandidate(method, quote, needsApproval, Rank(options, challenge)));
        }

        if (candidates.Count < 2)
        {
            return candidates;
        }

        // Client preference first; within one preference, the cheapest when they share an asset; else server order.
        candidates.Sort(static (a, b) => a.Rank.CompareTo(b.Rank));
        var ordered = new List<PaymentCandidate>(candidates.Count);
        foreach (var group in candidates.GroupBy(c => c.Rank))
        {
            var members = group.ToList();
            var sameAsset = members.All(c => c.Quote.Amount.Asset == members[0].Quote.Amount.Asset);
            ordered.AddRange(sameAsset ? members.OrderBy(c => c.Quote.Amount.Units) : members);
        }

        return ordered;
    }

    public static async ValueTask<(PaymentCandidate? Chosen, SpendReservation? Reservation)> ApproveAndReserveAsync(PaymentServices services, string clientName, List<PaymentCandidate> candidates, PaymentContext context, MppPaymentOptions options, NegotiationState call, CancellationToken cancellationToken)
    {
        foreach (var candidate in candidates)
        {
            var quote = candidate.Quote;
            if (candidate.NeedsApproval)
            {
                if (services.Approver is null)
                {
                    call.Refuse(services, quote.Challenge.Id, "approval.unavailable", "The payment needs approval but no IPaymentApprover is registered.");
                    continue;
                }

                if (!await services.Approver.ApproveAsync(quote, context, cancellationToken).ConfigureAwait(false))
                {
                    // One refusal from a person ends the call: asking again for the next offer would nag.
                    call.Refuse(services, quote.Challenge.Id, "approval.denied", "The approver refused the payment.");
                    return (null, null);
                }
            }

            var limit = options.Budget.Find(quote.Reserved.Asset)!;
            var scope = options.Budget.Scope ?? clientName;
            var result = await services.Ledger.TryReserveAsync(new SpendRequest(scope, context.Host, quote.Reserved, quote.Amount.Units, limit, quote.Challenge.Id), cancellationToken).ConfigureAwait(false);
            if (result.Succeeded)
            {
                return (candidate, result.Reservation);
            }

            call.Refuse(services, quote.Challenge.Id, result.Rule, result.Reason);
        }

        return (null, null);
    }

    public static int Rank(MppPaymentOptions options, PaymentChallenge challenge)
    {
        for (var i = 0; i < options.PreferredMethods.Count; i++)
        {
            var preferred = options.PreferredMethods[i];
            var slash = preferred.IndexOf('/', StringComparison.Ordinal);
            var method = slash < 0 ? preferred : preferred[..slash];
            var intent = slash < 0 ? null : preferred[(slash + 1)..];
            if (method == challenge.Method && (intent is null || intent == "*" || intent == challenge.Intent))
            {
                return i;
            }
        }

        return int.MaxValue;
    }

    /// <summary>Checks a receipt against the challenge paid: a success for the same method that names no other challenge.</summary>
    public static PaymentReceipt? Validate(PaymentServices services, PaymentReceipt? receipt, PaymentChallenge challenge, string missing)
    {
        if (receipt is null)
        {
            Log.ReceiptInvalid(services.Logger, challenge.Id, missing);
            return null;
        }

        if (receipt.Method != challenge.Method || !receipt.IsSuccess)
        {
            Log.ReceiptInvalid(services.Logger, challenge.Id, $"the receipt is for method '{receipt.Method}' with status '{receipt.Status}'");
            return null;
        }

        if (receipt.TryGetMember("challengeId", out var id) && id.ValueKind == System.Text.Json.JsonValueKind.String && id.GetString() != challenge.Id)
        {
            Log.ReceiptInvalid(services.Logger, challenge.Id, "the receipt names another challenge");
            return null;
        }

        return receipt;
    }

    /// <summary>Tells a method the outcome; its bookkeeping failure never changes the call's outcome.</summary>
    public static async ValueTask NotifyAsync(PaymentServices services, IPaymentMethod method, PaymentSettlement settlement)
    {
        try
        {
            await method.OnSettledAsync(settlement, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Log.SettlementNotificationFailed(services.Logger, ex, method.Method);
        }
    }

    /// <summary>The journal's digest of a credential (never the credential itself).</summary>
    public static string Digest(string credential) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(credential))).ToLowerInvariant();

    public static string Units(System.Numerics.BigInteger units) => units.ToString(CultureInfo.InvariantCulture);
}
