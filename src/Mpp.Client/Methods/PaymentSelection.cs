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
    /// <summary>Problems after a credential that paying again would not fix: the call ends with a typed rejection.</summary>
    private static readonly HashSet<string> FinalProblems = new(StringComparer.Ordinal)
    {
        PaymentProblemTypes.MalformedCredential, PaymentProblemTypes.InvalidPayload, PaymentProblemTypes.PaymentInsufficient,
        PaymentProblemTypes.PaymentActionRequired, PaymentProblemTypes.BadRequest, PaymentProblemTypes.MethodUnsupported,
    };

    /// <summary>
    /// Whether a refused credential ends the call, whatever the transport: a problem paying again would not fix, or a second
    /// verification failure (one fresh attempt is allowed after the first).
    /// </summary>
    /// <param name="call">The call (its verification failures are counted here).</param>
    /// <param name="problem">The server's problem, if any.</param>
    /// <param name="verificationFailed">Whether the server said the credential failed verification.</param>
    /// <returns><see langword="true"/> to stop paying.</returns>
    public static bool EndsCall(NegotiationState call, PaymentProblem? problem, bool verificationFailed)
    {
        if (problem is not null && FinalProblems.Contains(problem.Type))
        {
            return true;
        }

        return verificationFailed && ++call.VerificationFailures > 1;
    }

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

    /// <summary>
    /// Checks a receipt against the challenge paid: a success for the same method that names no other challenge, and, when
    /// <paramref name="requireChallengeId"/> (JSON-RPC and MCP, where protocol.md §7 makes it REQUIRED), names this one.
    /// </summary>
    public static PaymentReceipt? Validate(PaymentServices services, PaymentReceipt? receipt, PaymentChallenge challenge, string missing, bool requireChallengeId = false)
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

        if (requireChallengeId && !(receipt.TryGetMember("challengeId", out var named) && named.ValueKind == System.Text.Json.JsonValueKind.String))
        {
            Log.ReceiptInvalid(services.Logger, challenge.Id, "the receipt has no challengeId, which JSON-RPC and MCP receipts must carry");
            return null;
        }

        return receipt;
    }

    /// <summary>
    /// Records the outcome of a credential that left the process, then tells the method, exactly once. The ledger (commit when
    /// settled, otherwise kept counted as unknown), the journal and the receipt store are each best effort: the money already
    /// moved, so a store's failure is logged and neither changes the call's outcome nor skips the steps after it, and the
    /// method (which may hold a channel until it hears) is always told. When all three live in one database
    /// (<see cref="IOutcomeBatch"/>) they are written in one transaction; if that fails, step by step as above.
    /// </summary>
    /// <param name="services">The shared services.</param>
    /// <param name="method">The method that signed the credential.</param>
    /// <param name="settlement">The outcome, as the method is told it.</param>
    /// <param name="reservation">The budget reservation this call settles, or <see langword="null"/> when the method owns it (a deposit handed over, a prefunded voucher).</param>
    /// <param name="journalEntryId">The write-ahead journal entry.</param>
    /// <param name="receipt">The receipt to store, or <see langword="null"/>.</param>
    public static async ValueTask RecordOutcomeAsync(PaymentServices services, IPaymentMethod method, PaymentSettlement settlement, SpendReservation? reservation, Guid journalEntryId, StoredReceipt? receipt)
    {
        var outcome = settlement.Outcome;
        var challengeId = settlement.Quote.Challenge.Id;
        var state = outcome switch
        {
            PaymentOutcome.Settled => JournalState.Settled,
            PaymentOutcome.Rejected => JournalState.Rejected,
            _ => JournalState.Unknown,
        };
        try
        {
            if (services.Journal is IOutcomeBatch batch && batch.CanBatch(reservation is null ? null : services.Ledger, receipt is null ? null : services.Receipts))
            {
                try
                {
                    await batch.RecordOutcomeAsync(new OutcomeRecord(reservation, outcome == PaymentOutcome.Settled, journalEntryId, state, settlement.Receipt?.Reference, receipt), CancellationToken.None).ConfigureAwait(false);
                    return;
                }
                catch (Exception ex)
                {
                    // Nothing of it was written (one transaction): each step on its own below, as with separate stores.
                    Log.OutcomeBatchFailed(services.Logger, ex, outcome, challengeId, journalEntryId);
                }
            }

            if (reservation is not null)
            {
                try
                {
                    if (outcome == PaymentOutcome.Settled)
                    {
                        await services.Ledger.CommitAsync(reservation, CancellationToken.None).ConfigureAwait(false);
                    }
                    else
                    {
                        await services.Ledger.MarkUnknownAsync(reservation, CancellationToken.None).ConfigureAwait(false);
                    }
                }
                catch (Exception ex)
                {
                    Log.BookkeepingFailed(services.Logger, ex, "ledger", outcome, challengeId, journalEntryId);
                }
            }

            try
            {
                await services.Journal.UpdateAsync(journalEntryId, state, settlement.Receipt?.Reference, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                Log.BookkeepingFailed(services.Logger, ex, "journal", outcome, challengeId, journalEntryId);
            }

            if (receipt is not null)
            {
                try
                {
                    await services.Receipts.AddAsync(receipt, CancellationToken.None).ConfigureAwait(false);
                }
                catch (Exception ex)
                {
                    Log.BookkeepingFailed(services.Logger, ex, "receipts", outcome, challengeId, journalEntryId);
                }
            }
        }
        finally
        {
            await NotifyAsync(services, method, settlement).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Gives a reservation back and tells the method its credential was not sent (exactly once, even when the ledger fails).
    /// </summary>
    /// <param name="services">The shared services.</param>
    /// <param name="method">The method that signed the credential.</param>
    /// <param name="quote">The quote it signed.</param>
    /// <param name="reservation">The reservation to release, or <see langword="null"/>.</param>
    public static async ValueTask NotSentAsync(PaymentServices services, IPaymentMethod method, PaymentQuote quote, SpendReservation? reservation)
    {
        try
        {
            if (reservation is not null)
            {
                await services.Ledger.ReleaseAsync(reservation, CancellationToken.None).ConfigureAwait(false);
            }
        }
        catch (Exception ex)
        {
            Log.BookkeepingFailed(services.Logger, ex, "ledger", PaymentOutcome.NotSent, quote.Challenge.Id, Guid.Empty);
        }
        finally
        {
            await NotifyAsync(services, method, new PaymentSettlement(quote, PaymentOutcome.NotSent, null, null, null)).ConfigureAwait(false);
        }
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
    public static string Digest(string credential)
    {
        // A credential is a few KB: hashed from a pooled buffer rather than a new array per payment.
        var bytes = System.Buffers.ArrayPool<byte>.Shared.Rent(Encoding.UTF8.GetMaxByteCount(credential.Length));
        try
        {
            Span<byte> hash = stackalloc byte[32];
            SHA256.HashData(bytes.AsSpan(0, Encoding.UTF8.GetBytes(credential, bytes)), hash);
            return Convert.ToHexString(hash).ToLowerInvariant();
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(bytes);
        }
    }

    /// <summary>What a receipt records as paid: the quoted amount (a session open's deposit is held, not paid; the journal keeps what was at risk).</summary>
    public static string PaidUnits(PaymentQuote quote) => Units(quote.Amount.Units);

    /// <summary>The write-ahead journal entry for a credential about to leave: what is at risk, and a digest of the credential (never the credential).</summary>
    public static JournalEntry PendingEntry(PaymentServices services, string clientName, string origin, string path, PaymentChallenge challenge, AssetAmount atRisk, string credentialText)
    {
        var now = services.Time.GetUtcNow();
        return new(
            TimeOrderedId.New(now), now, clientName, origin, path, challenge.Id, challenge.Method, challenge.Intent,
            atRisk.Asset.ToString(), Units(atRisk.Units), Digest(credentialText), JournalState.Pending, null);
    }

    /// <summary>The stored form of a paid call's receipt, or <see langword="null"/> when there is none.</summary>
    public static StoredReceipt? ToStored(PaymentServices services, JournalEntry entry, PaymentQuote quote, PaymentReceipt? receipt)
        => receipt is null
            ? null
            : new StoredReceipt(services.Time.GetUtcNow(), entry.ClientName, entry.Origin, entry.Path, entry.ChallengeId, entry.Method, entry.Intent, entry.Asset, PaidUnits(quote), receipt.Reference, receipt.Json.GetRawText());

    public static string Units(System.Numerics.BigInteger units) => units.ToString(CultureInfo.InvariantCulture);
}
