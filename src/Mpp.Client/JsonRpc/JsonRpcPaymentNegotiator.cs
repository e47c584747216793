using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.Options;
using Mpp.Client.Protocol;

namespace Mpp.Client;

/// <summary>How a JSON-RPC server answered a call.</summary>
internal enum PaidAnswerKind
{
    /// <summary>A result (with a receipt in <c>_meta</c> when a credential was sent).</summary>
    Accepted,

    /// <summary><c>-32042</c>, or a payment-required tool result.</summary>
    PaymentRequired,

    /// <summary><c>-32043</c>.</summary>
    VerificationFailed,

    /// <summary>Any other payment error after a credential was sent (<c>-32602</c>, <c>-32603</c>).</summary>
    Failed,
}

/// <summary>One answer of the transport, in payment terms.</summary>
internal sealed record PaidAnswer<T>(PaidAnswerKind Kind, T? Value, PaymentReceipt? Receipt, JsonRpcPaymentData Data, int ErrorCode)
{
    public static PaidAnswer<T> Accepted(T value, PaymentReceipt? receipt) => new(PaidAnswerKind.Accepted, value, receipt, JsonRpcPaymentData.Empty, 0);
}

/// <summary>A paid (or dry-run) JSON-RPC call: the transport's value and what was paid.</summary>
internal sealed record PaidOutcome<T>(T? Value, PaymentDetails Details);

/// <summary>
/// Pays a JSON-RPC or MCP call that was answered "payment required", through the same selection, policy, approver,
/// budget, journal, method settlement and receipt store as the HTTP payment handler (<see cref="PaymentSelection"/>);
/// only how the credential travels differs, and the transport supplies that as a delegate.
/// </summary>
internal sealed class JsonRpcPaymentNegotiator(PaymentServices services, IOptionsMonitor<MppPaymentOptions> options)
{
    public PaymentServices Services { get; } = services;

    public MppPaymentOptions Options(string clientName) => options.Get(clientName);

    [SuppressMessage("Maintainability", "CA1506:Avoid excessive class coupling", Justification = "One linear payment round, kept in one place like the HTTP handler's.")]
    public async Task<PaidOutcome<T>> PayAsync<T>(
        string clientName,
        Uri endpoint,
        PaymentOperation operation,
        PaidAnswer<T> first,
        Func<PaymentCredential, JsonRpcPaymentData, CancellationToken, Task<PaidAnswer<T>>> send,
        CancellationToken cancellationToken,
        bool dryRun = false)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        ArgumentNullException.ThrowIfNull(operation);
        ArgumentNullException.ThrowIfNull(first);
        ArgumentNullException.ThrowIfNull(send);
        var services = Services;
        var settings = options.Get(clientName);
        var call = new NegotiationState();
        var answer = first;
        var endpointLog = new LoggedUri(endpoint);
        while (true)
        {
            var started = services.Time.GetTimestamp();
            var data = answer.Data;
            Log.ChallengesReceived(services.Logger, endpointLog, data.Challenges.Count, data.Errors.Count);
            foreach (var error in data.Errors)
            {
                Log.ChallengeMalformed(services.Logger, endpointLog, error);
            }

            if (data.Challenges.Count == 0)
            {
                throw Rejected(call, answer, call.Rounds == 0 ? "the server asked for payment without a readable challenge" : "the server asked for payment again without a payable challenge");
            }

            if (endpoint.Scheme != Uri.UriSchemeHttps && !(settings.AllowInsecureLoopback && endpoint.IsLoopback))
            {
                throw Unpayable(call, answer, "transport.insecure", $"{endpointLog} is not HTTPS; credentials go over plain HTTP only to loopback with AllowInsecureLoopback.");
            }

            var context = new PaymentContext(clientName, HttpMethod.Post, endpoint, call.Rounds + 1, settings.Budget.Scope, settings.Budget.Find) { Operation = operation };
            var candidates = await PaymentSelection.SelectAsync(services, data.Challenges, context, settings, call, cancellationToken).ConfigureAwait(false);
            if (candidates.Count == 0)
            {
                throw Unpayable(call, answer, null, null);
            }

            if (settings.DryRun || dryRun)
            {
                var quote = candidates[0].Quote;
                Log.DryRun(services.Logger, quote.Challenge.Id, quote.Method, quote.Intent, quote.Amount, endpointLog);
                return new PaidOutcome<T>(default, call.Details(quote, outcome: null, receipt: null, isDryRun: true));
            }

            if (call.Rounds >= settings.MaxPaymentRounds)
            {
                throw Rejected(call, answer, $"MaxPaymentRounds ({settings.MaxPaymentRounds}) credentials were refused");
            }

            var (chosen, reservation) = await PaymentSelection.ApproveAndReserveAsync(services, clientName, candidates, context, settings, call, cancellationToken).ConfigureAwait(false);
            if (chosen is null || reservation is null)
            {
                throw Unpayable(call, answer, null, null);
            }

            var chosenQuote = chosen.Quote;
            var challenge = chosenQuote.Challenge;
            Log.Paying(services.Logger, challenge.Id, challenge.Method, challenge.Intent, chosenQuote.Amount, endpointLog, call.Rounds + 1);

            PaymentCredential credential;
            try
            {
                credential = await chosen.Method.CreateCredentialAsync(chosenQuote, context, cancellationToken).ConfigureAwait(false);
            }
            catch (PaymentOutcomeUnknownException)
            {
                call.Rounds++;
                call.LastQuote = chosenQuote;
                await services.Ledger.MarkUnknownAsync(reservation, CancellationToken.None).ConfigureAwait(false);
                throw;
            }
            catch (PaymentDeniedException ex) when (call.Rounds > 0)
            {
                // Refused on this side after an earlier credential left: the caller must still learn that credential's outcome.
                await services.Ledger.ReleaseAsync(reservation, CancellationToken.None).ConfigureAwait(false);
                call.Refuse(services, challenge.Id, ex.Rule, ex.Message);
                throw Rejected(call, answer, $"the server refused the credential and the next one was refused here ({ex.Rule}: {ex.Message})");
            }
            catch (Exception)
            {
                await services.Ledger.ReleaseAsync(reservation, CancellationToken.None).ConfigureAwait(false);
                throw;
            }

            call.Rounds++;
            call.LastQuote = chosenQuote;

            JournalEntry entry;
            try
            {
                entry = PaymentSelection.PendingEntry(services, clientName, endpoint.GetLeftPart(UriPartial.Authority), context.RoutePath, challenge, chosenQuote.Reserved, credential.ToHeaderValue());
                await services.Journal.RecordAsync(entry, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception)
            {
                await PaymentSelection.NotSentAsync(services, chosen.Method, chosenQuote, reservation).ConfigureAwait(false);
                throw;
            }

            call.JournalEntryId = entry.Id;
            var handOver = chosenQuote.LocksDeposit ? reservation : null;
            PaidAnswer<T> next;
            try
            {
                next = await send(credential, data, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                // The credential may have reached the server: keep the money counted, never pay again on our own.
                services.Metrics.Payment(chosenQuote, PaymentOutcome.Unknown, services.Time.GetElapsedTime(started));
                await PaymentSelection.RecordOutcomeAsync(services, chosen.Method, new PaymentSettlement(chosenQuote, PaymentOutcome.Unknown, null, null, null) { Reservation = handOver }, handOver is null ? reservation : null, entry.Id, null).ConfigureAwait(false);
                Log.OutcomeUnknown(services.Logger, ex, challenge.Id, entry.Id);
                throw new PaymentOutcomeUnknownException(
                    $"The credential for challenge {challenge.Id} was sent to {endpointLog} ({operation}) but no answer was read ({ex.GetType().Name}). The payment may have been taken: its budget reservation is kept and it will not be paid again automatically; see journal entry {entry.Id}.",
                    entry.Id,
                    challenge.Id,
                    ex);
            }

            switch (next.Kind)
            {
                case PaidAnswerKind.Accepted:
                {
                    // Over JSON-RPC and MCP the receipt must name the challenge it pays (protocol.md §7).
                    var receipt = PaymentSelection.Validate(services, next.Receipt, challenge, "the result has no _meta receipt", requireChallengeId: true);
                    var stored = PaymentSelection.ToStored(services, entry, chosenQuote, receipt);
                    services.Metrics.Payment(chosenQuote, PaymentOutcome.Settled, services.Time.GetElapsedTime(started));
                    services.Metrics.Rounds(call.Rounds);
                    Log.Settled(services.Logger, challenge.Id, 200, receipt?.Reference);
                    await PaymentSelection.RecordOutcomeAsync(services, chosen.Method, new PaymentSettlement(chosenQuote, PaymentOutcome.Settled, receipt, null, 200) { Reservation = handOver }, handOver is null ? reservation : null, entry.Id, stored).ConfigureAwait(false);
                    return new PaidOutcome<T>(next.Value, call.Details(chosenQuote, PaymentOutcome.Settled, receipt, isDryRun: false));
                }

                case PaidAnswerKind.PaymentRequired or PaidAnswerKind.VerificationFailed:
                {
                    // Refused, but a signed credential may still be settled by whoever holds it: it stays counted.
                    var problem = next.Data.Problem;
                    services.Metrics.Payment(chosenQuote, PaymentOutcome.Rejected, services.Time.GetElapsedTime(started));
                    Log.Rejected(services.Logger, challenge.Id, 402, problem?.Type);
                    await PaymentSelection.RecordOutcomeAsync(services, chosen.Method, new PaymentSettlement(chosenQuote, PaymentOutcome.Rejected, null, problem, 402) { Reservation = handOver }, handOver is null ? reservation : null, entry.Id, null).ConfigureAwait(false);
                    call.LastProblem = problem;
                    call.LastOutcome = PaymentOutcome.Rejected;
                    if (challenge.Intent == "charge")
                    {
                        call.PaidChargeIds.Add(challenge.Id);
                    }

                    // The same rule as over HTTP: a problem paying again would not fix ends the call, and so does a second
                    // verification failure (one fresh attempt after the first).
                    var verificationFailed = next.Kind == PaidAnswerKind.VerificationFailed || problem?.Type == PaymentProblemTypes.VerificationFailed;
                    if (PaymentSelection.EndsCall(call, problem, verificationFailed))
                    {
                        throw Rejected(call, next, verificationFailed && call.VerificationFailures > 1
                            ? "the server refused the credential twice (payment verification failed)"
                            : $"the server refused the credential ({problem?.Code ?? problem?.Type}), which paying again would not fix");
                    }

                    answer = next;
                    continue;
                }

                default:
                {
                    services.Metrics.Payment(chosenQuote, PaymentOutcome.Unknown, services.Time.GetElapsedTime(started));
                    Log.UnexpectedStatusAfterPaying(services.Logger, next.ErrorCode, challenge.Id);
                    await PaymentSelection.RecordOutcomeAsync(services, chosen.Method, new PaymentSettlement(chosenQuote, PaymentOutcome.Unknown, null, next.Data.Problem, null) { Reservation = handOver }, handOver is null ? reservation : null, entry.Id, null).ConfigureAwait(false);
                    call.LastOutcome = PaymentOutcome.Unknown;
                    call.LastProblem = next.Data.Problem;
                    throw Rejected(call, next, $"the server could not process the credential (JSON-RPC error {next.ErrorCode}); its outcome is unknown, so the budget keeps it counted");
                }
            }
        }
    }

    private JsonRpcPaymentException Rejected<T>(NegotiationState call, PaidAnswer<T> answer, string why)
    {
        Services.Metrics.Rounds(call.Rounds);
        var problem = answer.Data.Problem ?? call.LastProblem;
        return new JsonRpcPaymentException(
            $"Payment failed after {call.Rounds} credential(s): {why}." + (problem is null ? string.Empty : $" Last problem: {problem}."),
            answer.ErrorCode,
            problem,
            answer.Data.FailureReason,
            call.Details(call.LastQuote, call.LastOutcome, receipt: null, isDryRun: false));
    }

    private MppException Unpayable<T>(NegotiationState call, PaidAnswer<T> answer, string? rule, string? reason)
    {
        if (rule is not null)
        {
            call.Refuse(Services, null, rule, reason!);
        }

        var last = call.Refusals.Count > 0 ? call.Refusals[^1] : new PaymentRefusal(null, "unpayable", "No challenge could be paid.");
        if (call.Rounds > 0)
        {
            return Rejected(call, answer, $"the server refused the credential and the next challenge cannot be paid ({last.Rule}: {last.Reason})");
        }

        return new PaymentDeniedException(last.Rule, $"The payment asked for cannot be paid: {last.Reason}", [.. call.Refusals]);
    }
}
