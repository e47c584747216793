using System.Net;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Mpp.Client.Protocol;

namespace Mpp.Client;

/// <summary>The singletons the (transient, pooled) payment handlers share.</summary>
internal sealed class PaymentServices(
    IEnumerable<IPaymentMethod> methods,
    IEnumerable<IPaymentPolicy> policies,
    ISpendLedger ledger,
    IReceiptStore receipts,
    IPaymentJournal journal,
    TimeProvider time,
    ILoggerFactory loggerFactory,
    MppMetrics metrics,
    IPaymentApprover? approver = null)
{
    public IReadOnlyList<IPaymentMethod> Methods { get; } = [.. methods];

    public IReadOnlyList<IPrepayingPaymentMethod> Prepayers { get; } = [.. methods.OfType<IPrepayingPaymentMethod>()];

    public IReadOnlyList<IPaymentPolicy> Policies { get; } = [.. policies];

    public IPaymentApprover? Approver { get; } = approver;

    public ISpendLedger Ledger { get; } = ledger;

    public IReceiptStore Receipts { get; } = receipts;

    public IPaymentJournal Journal { get; } = journal;

    public TimeProvider Time { get; } = time;

    public ILogger Logger { get; } = loggerFactory.CreateLogger("Mpp.Client.PaymentHandler");

    public MppMetrics Metrics { get; } = metrics;
}

/// <summary>
/// Pays for requests answered with <c>402 Payment Required</c> (design.md §2): bounded body buffering
/// before the first send, challenge parsing, selection under policy, an atomic budget reservation before
/// any signature, a write-ahead journal entry, the resend of a faithful clone with the credential, and
/// the receipt. Non-402 responses pass through untouched.
/// </summary>
/// <remarks>
/// Stateless and transient (IHttpClientFactory pools and rotates handlers): budgets, receipts and the
/// journal live in singletons. Retry handlers registered after this one sit inside it, so a transient
/// retry resends the request that already carries the credential and nothing is signed twice; handlers
/// outside it share the call's <see cref="PaymentCallScope"/>, so a retried or hedged call never pays twice.
/// </remarks>
internal sealed class PaymentHandler : DelegatingHandler
{
    private const int MaxMalformedLogged = 8;
    private static readonly TimeSpan HedgedCopyGrace = TimeSpan.FromSeconds(30);

    private readonly string _clientName;
    private readonly IOptionsMonitor<MppPaymentOptions> _options;
    private readonly PaymentServices _services;

    public PaymentHandler(string clientName, IOptionsMonitor<MppPaymentOptions> options, PaymentServices services)
    {
        _clientName = clientName;
        _options = options;
        _services = services;
    }

    protected override HttpResponseMessage Send(HttpRequestMessage request, CancellationToken cancellationToken)
        => throw new NotSupportedException("MPP payments are asynchronous (signing, budgets, journals): use HttpClient's async methods.");

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.IsPaymentDisabled())
        {
            return base.SendAsync(request, cancellationToken);
        }

        var options = _options.Get(_clientName);
        if (_services.Prepayers.Count > 0 && !options.DryRun && !request.IsDryRun() && request.RequestUri is { IsAbsoluteUri: true })
        {
            return SendPrepaidAsync(request, options, cancellationToken);
        }

        var replayable = RequestBody.MakeReplayableAsync(request.Content, options.MaxBufferedRequestBytes, cancellationToken);
        if (!replayable.IsCompletedSuccessfully)
        {
            return SendWithPaymentAsync(request, replayable, options, cancellationToken);
        }

        // The hot path: when the answer is already there and needs nothing from us, hand back the inner task itself.
        var sent = base.SendAsync(request, cancellationToken);
        if (sent.IsCompletedSuccessfully && !NeedsHandling(sent.Result, options))
        {
            return sent;
        }

        return ContinueAsync(request, sent, replayable.Result, options, cancellationToken);
    }

    private async Task<HttpResponseMessage> SendWithPaymentAsync(HttpRequestMessage request, ValueTask<bool> replayableTask, MppPaymentOptions options, CancellationToken cancellationToken)
    {
        var replayable = await replayableTask.ConfigureAwait(false);
        return await ContinueAsync(request, base.SendAsync(request, cancellationToken), replayable, options, cancellationToken).ConfigureAwait(false);
    }

    private async Task<HttpResponseMessage> ContinueAsync(HttpRequestMessage request, Task<HttpResponseMessage> sent, bool replayable, MppPaymentOptions options, CancellationToken cancellationToken, object? attempt = null)
    {
        var response = await sent.ConfigureAwait(false);
        response = await FollowRedirectsAsync(request, response, replayable, options, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode != HttpStatusCode.PaymentRequired)
        {
            return response;
        }

        return await NegotiateAsync(request, response, replayable, options, cancellationToken, attempt).ConfigureAwait(false);
    }

    /// <summary>
    /// Sessions: when a method already holds a still-valid challenge for the route, the next voucher rides on the request
    /// itself (one round trip). A 402 answer drops to the normal path with that 402.
    /// </summary>
    private async Task<HttpResponseMessage> SendPrepaidAsync(HttpRequestMessage request, MppPaymentOptions options, CancellationToken cancellationToken)
    {
        var attempt = new object();
        try
        {
            return await SendPrepaidAsync(request, options, attempt, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            PaymentCallScope.Find(request)?.Release(attempt); // lets waiting copies go on; a no-op for a call this attempt does not own (or never claimed)
        }
    }

    private async Task<HttpResponseMessage> SendPrepaidAsync(HttpRequestMessage request, MppPaymentOptions options, object attempt, CancellationToken cancellationToken)
    {
        var started = _services.Time.GetTimestamp();
        var replayable = await RequestBody.MakeReplayableAsync(request.Content, options.MaxBufferedRequestBytes, cancellationToken).ConfigureAwait(false);
        var uri = request.RequestUri!;
        if (!replayable || (uri.Scheme != Uri.UriSchemeHttps && !(options.AllowInsecureLoopback && uri.IsLoopback)))
        {
            return await ContinueAsync(request, base.SendAsync(request, cancellationToken), replayable, options, cancellationToken).ConfigureAwait(false);
        }

        var services = _services;
        var context = new PaymentContext(_clientName, request.Method, uri, 1, options.Budget.Scope, options.Budget.Find);
        IPrepayingPaymentMethod? method = null;
        PaymentQuote? quote = null;
        foreach (var prepayer in services.Prepayers)
        {
            quote = await prepayer.TryPrepayAsync(context, cancellationToken).ConfigureAwait(false);
            if (quote is not null)
            {
                method = prepayer;
                break;
            }
        }

        if (quote is null || method is null)
        {
            return await ContinueAsync(request, base.SendAsync(request, cancellationToken), replayable, options, cancellationToken).ConfigureAwait(false);
        }

        var challenge = quote.Challenge;
        if (!quote.IsPrefunded || !await AllowsPrepaymentAsync(quote, context, options, cancellationToken).ConfigureAwait(false))
        {
            // Not within what this client may pay up front: the normal path decides (and explains) with the server's 402.
            await PaymentSelection.NotifyAsync(services, method, new PaymentSettlement(quote, PaymentOutcome.NotSent, null, null, null)).ConfigureAwait(false);
            return await ContinueAsync(request, base.SendAsync(request, cancellationToken), replayable, options, cancellationToken).ConfigureAwait(false);
        }

        // One attempt of a call pays: a copy sent again by a retry or hedging handler outside this one goes the normal way.
        var scope = PaymentCallScope.For(request);
        if (!scope.TryClaim(attempt))
        {
            await PaymentSelection.NotifyAsync(services, method, new PaymentSettlement(quote, PaymentOutcome.NotSent, null, null, null)).ConfigureAwait(false);
            return await ContinueAsync(request, base.SendAsync(request, cancellationToken), replayable, options, cancellationToken).ConfigureAwait(false);
        }

        using var activity = MppDiagnostics.ActivitySource.StartActivity("mpp.prepay");
        activity?.SetTag("mpp.method", challenge.Method);
        activity?.SetTag("mpp.intent", challenge.Intent);

        // Signed only now, after the policy allowed it (the money itself is already held by the channel's deposit).
        PaymentCredential credential;
        try
        {
            credential = await method.CreateCredentialAsync(quote, context, cancellationToken).ConfigureAwait(false);
        }
        catch (PaymentDeniedException ex)
        {
            // For example a top-up the budget refuses: the normal path decides (and explains) with the server's 402.
            Log.ChallengeRefused(services.Logger, challenge.Id, ex.Rule, ex.Message);
            return await ContinueAsync(request, base.SendAsync(request, cancellationToken), replayable, options, cancellationToken, attempt).ConfigureAwait(false);
        }

        string headerValue;
        try
        {
            headerValue = credential.ToHeaderValue();
        }
        catch (Exception)
        {
            await PaymentSelection.NotSentAsync(services, method, quote, null).ConfigureAwait(false);
            throw;
        }

        var origin = uri.GetLeftPart(UriPartial.Authority);
        // Prefunded: nothing new is reserved, so the journal records the voucher's amount as what is at risk.
        var entry = PaymentSelection.PendingEntry(services, _clientName, origin, uri.AbsolutePath, challenge, quote.Amount, headerValue);
        try
        {
            await services.Journal.RecordAsync(entry, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception)
        {
            await PaymentSelection.NotSentAsync(services, method, quote, null).ConfigureAwait(false);
            throw;
        }

        var call = new PaymentCall(request, options) { Rounds = 1, LastQuote = quote, JournalEntryId = entry.Id };
        var paidRequest = CloneForPayment(request, uri, credential.HeaderName, headerValue, call.IdempotencyKey);
        scope.Sending(attempt, challenge.Id, entry.Id);
        var sends = CredentialSends.Track(paidRequest);
        HttpResponseMessage answer;
        try
        {
            answer = await SendFollowingRedirectsAsync(paidRequest, replayable, options, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            services.Metrics.Payment(quote, PaymentOutcome.Unknown, services.Time.GetElapsedTime(started));
            activity?.SetTag("mpp.outcome", nameof(PaymentOutcome.Unknown));
            await PaymentSelection.RecordOutcomeAsync(services, method, new PaymentSettlement(quote, PaymentOutcome.Unknown, null, null, null), null, entry.Id, null).ConfigureAwait(false);
            Log.OutcomeUnknown(services.Logger, ex, challenge.Id, entry.Id);
            throw new PaymentOutcomeUnknownException(
                $"A prepaid credential for challenge {challenge.Id} was sent to {new LoggedUri(uri)} but no answer was read ({ex.GetType().Name}). It is counted as spent and will not be sent again; see journal entry {entry.Id}.",
                entry.Id,
                challenge.Id,
                ex);
        }

        var status = (int)answer.StatusCode;
        if (answer.IsSuccessStatusCode || answer.StatusCode == HttpStatusCode.Forbidden)
        {
            var receipt = answer.IsSuccessStatusCode ? ReadReceipt(answer, challenge) : null;
            var stored = PaymentSelection.ToStored(services, entry, quote, receipt);
            services.Metrics.Payment(quote, PaymentOutcome.Settled, services.Time.GetElapsedTime(started));
            activity?.SetTag("mpp.outcome", nameof(PaymentOutcome.Settled));
            await PaymentSelection.RecordOutcomeAsync(services, method, new PaymentSettlement(quote, PaymentOutcome.Settled, receipt, null, status), null, entry.Id, stored).ConfigureAwait(false);
            answer.SetPaymentDetails(paidRequest, call.Details(quote, PaymentOutcome.Settled, receipt, isDryRun: false));
            return answer;
        }

        var problem = await ReadProblemAsync(answer, cancellationToken).ConfigureAwait(false);
        if (answer.StatusCode == HttpStatusCode.PaymentRequired && sends.Count > 1)
        {
            // As on the normal path: a retry handler inside this one resent the voucher, and an earlier send may have been taken.
            services.Metrics.Payment(quote, PaymentOutcome.Unknown, services.Time.GetElapsedTime(started));
            activity?.SetTag("mpp.outcome", nameof(PaymentOutcome.Unknown));
            Log.CredentialResent(services.Logger, challenge.Id, sends.Count, entry.Id);
            await PaymentSelection.RecordOutcomeAsync(services, method, new PaymentSettlement(quote, PaymentOutcome.Unknown, null, problem, status), null, entry.Id, null).ConfigureAwait(false);
            answer.Dispose();
            throw new PaymentOutcomeUnknownException(
                $"The prepaid credential for challenge {challenge.Id} was sent {sends.Count} times by a retry handler inside the payment handler and the server answered the last with 402. An earlier send may have been accepted: nothing more is paid for this call; see journal entry {entry.Id}.",
                entry.Id,
                challenge.Id,
                null);
        }

        if (answer.StatusCode == HttpStatusCode.PaymentRequired)
        {
            // The voucher was refused (an expired challenge, a channel the server forgot…): the method learns why, then
            // the ordinary negotiation takes this 402 from the start.
            services.Metrics.Payment(quote, PaymentOutcome.Rejected, services.Time.GetElapsedTime(started));
            activity?.SetTag("mpp.outcome", nameof(PaymentOutcome.Rejected));
            Log.Rejected(services.Logger, challenge.Id, status, problem?.Type);
            await PaymentSelection.RecordOutcomeAsync(services, method, new PaymentSettlement(quote, PaymentOutcome.Rejected, null, problem, status), null, entry.Id, null).ConfigureAwait(false);
            return await NegotiateAsync(request, answer, replayable, options, cancellationToken, attempt).ConfigureAwait(false);
        }

        services.Metrics.Payment(quote, PaymentOutcome.Unknown, services.Time.GetElapsedTime(started));

        activity?.SetTag("mpp.outcome", nameof(PaymentOutcome.Unknown));
        Log.UnexpectedStatusAfterPaying(services.Logger, status, challenge.Id);
        await PaymentSelection.RecordOutcomeAsync(services, method, new PaymentSettlement(quote, PaymentOutcome.Unknown, null, problem, status), null, entry.Id, null).ConfigureAwait(false);
        call.LastOutcome = PaymentOutcome.Unknown;
        call.LastProblem = problem;
        if (problem?.Code is not null)
        {
            throw await RejectedAsync(answer, call, $"the server could not process the prepaid credential (HTTP {status}, {problem.Code})", cancellationToken).ConfigureAwait(false);
        }

        answer.SetPaymentDetails(paidRequest, call.Details(quote, PaymentOutcome.Unknown, receipt: null, isDryRun: false));
        return answer;
    }

    /// <summary>The same policy as the normal path (allow-lists, expiry, limits, custom policies); anything short of a plain allow goes the normal way.</summary>
    private async ValueTask<bool> AllowsPrepaymentAsync(PaymentQuote quote, PaymentContext context, MppPaymentOptions options, CancellationToken cancellationToken)
    {
        if (BuiltInPolicy.Evaluate(quote, context, options, _services.Time.GetUtcNow()).Kind != PaymentDecisionKind.Allow)
        {
            return false;
        }

        foreach (var policy in _services.Policies)
        {
            if ((await policy.EvaluateAsync(quote, context, cancellationToken).ConfigureAwait(false)).Kind != PaymentDecisionKind.Allow)
            {
                return false;
            }
        }

        return true;
    }

    private static bool NeedsHandling(HttpResponseMessage response, MppPaymentOptions options)
        => response.StatusCode == HttpStatusCode.PaymentRequired || (options.FollowRedirects && IsRedirect(response.StatusCode) && response.Headers.Location is not null);

    private async Task<HttpResponseMessage> NegotiateAsync(HttpRequestMessage original, HttpResponseMessage response, bool replayable, MppPaymentOptions options, CancellationToken cancellationToken, object? attempt = null)
    {
        if (original.RequestUri is not { IsAbsoluteUri: true })
        {
            return response;
        }

        var call = new PaymentCall(original, options);
        var scope = PaymentCallScope.For(original);
        attempt ??= call;
        try
        {
            return await NegotiateRoundsAsync(call, scope, attempt, response, replayable, options, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            scope.Release(attempt); // gives the call up if this attempt sent nothing, and lets waiting copies go on
        }
    }

    private async Task<HttpResponseMessage> NegotiateRoundsAsync(PaymentCall call, PaymentCallScope scope, object attempt, HttpResponseMessage response, bool replayable, MppPaymentOptions options, CancellationToken cancellationToken)
    {
        using var activity = MppDiagnostics.ActivitySource.StartActivity("mpp.negotiate");
        var services = _services;
        var original = call.Original;
        var originUri = original.RequestUri!;
        while (true)
        {
            var negotiationStarted = services.Time.GetTimestamp();
            var payUri = response.RequestMessage?.RequestUri is { IsAbsoluteUri: true } answered ? answered : originUri;
            var endpoint = new LoggedUri(payUri);
            var parsed = PaymentChallenge.ParseAll(response.Headers);
            Log.ChallengesReceived(services.Logger, endpoint, parsed.Challenges.Count, parsed.Errors.Count);
            for (var e = 0; e < Math.Min(parsed.Errors.Count, MaxMalformedLogged); e++)
            {
                // A few explain the problem; a server sending thousands does not get to flood the log.
                Log.ChallengeMalformed(services.Logger, endpoint, parsed.Errors[e].Message);
            }

            if (parsed.ExceedsSizeLimit)
            {
                return await UnpayableAsync(response, call, "challenge.too-large", parsed.Errors[0].Message, cancellationToken).ConfigureAwait(false);
            }

            if (parsed.Challenges.Count == 0)
            {
                if (call.Rounds == 0)
                {
                    return response; // not an MPP 402 (or nothing readable): untouched
                }

                throw await RejectedAsync(response, call, "the server answered 402 again without a payable challenge", cancellationToken).ConfigureAwait(false);
            }

            if (!SameOrigin(payUri, originUri))
            {
                return await UnpayableAsync(response, call, "origin.changed", $"The 402 came from {payUri.GetLeftPart(UriPartial.Authority)} after a redirect from {originUri.GetLeftPart(UriPartial.Authority)}; credentials never go to another origin.", cancellationToken).ConfigureAwait(false);
            }

            if (payUri.Scheme != Uri.UriSchemeHttps && !(options.AllowInsecureLoopback && payUri.IsLoopback))
            {
                return await UnpayableAsync(response, call, "transport.insecure", $"{endpoint} is not HTTPS; credentials go over plain HTTP only to loopback with AllowInsecureLoopback.", cancellationToken).ConfigureAwait(false);
            }

            if (!replayable)
            {
                return await UnpayableAsync(response, call, "request.body-not-replayable", $"The request body is streamed or larger than MaxBufferedRequestBytes ({options.MaxBufferedRequestBytes}); it is never sent twice, so the request cannot be paid.", cancellationToken).ConfigureAwait(false);
            }

            var context = new PaymentContext(_clientName, original.Method, payUri, call.Rounds + 1, options.Budget.Scope, options.Budget.Find);
            var candidates = await PaymentSelection.SelectAsync(_services, parsed.Challenges, context, options, call, cancellationToken).ConfigureAwait(false);
            if (candidates.Count == 0)
            {
                return await UnpayableAsync(response, call, null, null, cancellationToken).ConfigureAwait(false);
            }

            if (options.DryRun || original.IsDryRun())
            {
                var quote = candidates[0].Quote;
                Log.DryRun(services.Logger, quote.Challenge.Id, quote.Method, quote.Intent, quote.Amount, endpoint);
                response.SetPaymentDetails(original, call.Details(quote, outcome: null, receipt: null, isDryRun: true));
                return response;
            }

            if (call.Rounds >= options.MaxPaymentRounds)
            {
                throw await RejectedAsync(response, call, $"MaxPaymentRounds ({options.MaxPaymentRounds}) credentials were refused", cancellationToken).ConfigureAwait(false);
            }

            if (!scope.TryClaim(attempt))
            {
                var claim = await scope.WaitAndTryClaimAsync(attempt, cancellationToken).ConfigureAwait(false);
                if (claim == ClaimResult.YieldedToOwner)
                {
                    // A hedged copy beside the copy that paid: the hedging handler takes the paying copy's answer and cancels this
                    // one; should nothing cancel it, the refusal comes back after a grace period, never before the owner's answer.
                    try
                    {
                        await Task.Delay(HedgedCopyGrace, services.Time, cancellationToken).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                        response.Dispose();
                        throw;
                    }
                }

                if (claim != ClaimResult.Claimed)
                {
                    return await UnpayableAsync(response, call, "payment.retried", scope.Explain(), cancellationToken).ConfigureAwait(false);
                }
            }

            var (chosen, reservation) = await PaymentSelection.ApproveAndReserveAsync(_services, _clientName, candidates, context, options, call, cancellationToken).ConfigureAwait(false);
            if (chosen is null || reservation is null)
            {
                return await UnpayableAsync(response, call, null, null, cancellationToken).ConfigureAwait(false);
            }

            var chosenQuote = chosen.Quote;
            var challenge = chosenQuote.Challenge;
            call.Rounds++;
            call.LastQuote = chosenQuote;
            Log.Paying(services.Logger, challenge.Id, challenge.Method, challenge.Intent, chosenQuote.Amount, endpoint, call.Rounds);
            var overhead = services.Time.GetElapsedTime(negotiationStarted);

            PaymentCredential credential;
            using (var sign = MppDiagnostics.ActivitySource.StartActivity("mpp.sign"))
            {
                sign?.SetTag("mpp.method", challenge.Method);
                sign?.SetTag("mpp.intent", challenge.Intent);
                try
                {
                    credential = await chosen.Method.CreateCredentialAsync(chosenQuote, context, cancellationToken).ConfigureAwait(false);
                }
                catch (PaymentOutcomeUnknownException)
                {
                    await services.Ledger.MarkUnknownAsync(reservation, CancellationToken.None).ConfigureAwait(false);
                    throw;
                }
                catch (Exception)
                {
                    // By the method contract nothing left the process: the reservation goes back.
                    await services.Ledger.ReleaseAsync(reservation, CancellationToken.None).ConfigureAwait(false);
                    throw;
                }
            }

            var encodeStarted = services.Time.GetTimestamp();
            string headerValue;
            try
            {
                headerValue = credential.ToHeaderValue();
            }
            catch (Exception)
            {
                await PaymentSelection.NotSentAsync(services, chosen.Method, chosenQuote, reservation).ConfigureAwait(false);
                throw;
            }

            var entry = PaymentSelection.PendingEntry(services, _clientName, payUri.GetLeftPart(UriPartial.Authority), payUri.AbsolutePath, challenge, chosenQuote.Reserved, headerValue);
            try
            {
                await services.Journal.RecordAsync(entry, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception)
            {
                await PaymentSelection.NotSentAsync(services, chosen.Method, chosenQuote, reservation).ConfigureAwait(false);
                throw;
            }

            call.JournalEntryId = entry.Id;
            var handOver = chosenQuote.LocksDeposit ? reservation : null;
            var paidRequest = CloneForPayment(response.RequestMessage ?? original, payUri, credential.HeaderName, headerValue, call.IdempotencyKey);
            services.Metrics.Overhead(overhead + services.Time.GetElapsedTime(encodeStarted));
            response.Dispose();
            scope.Sending(attempt, challenge.Id, entry.Id);
            var sends = CredentialSends.Track(paidRequest);

            HttpResponseMessage answer;
            using (var resend = MppDiagnostics.ActivitySource.StartActivity("mpp.resend"))
            {
                try
                {
                    answer = await SendFollowingRedirectsAsync(paidRequest, replayable, options, cancellationToken).ConfigureAwait(false);
                    resend?.SetTag("http.response.status_code", (int)answer.StatusCode);
                }
                catch (Exception ex)
                {
                    // The credential may have reached the server: keep the money counted, never pay again on our own.
                    services.Metrics.Payment(chosenQuote, PaymentOutcome.Unknown, services.Time.GetElapsedTime(negotiationStarted));
                    await PaymentSelection.RecordOutcomeAsync(services, chosen.Method, new PaymentSettlement(chosenQuote, PaymentOutcome.Unknown, null, null, null) { Reservation = handOver }, handOver is null ? reservation : null, entry.Id, null).ConfigureAwait(false);
                    Log.OutcomeUnknown(services.Logger, ex, challenge.Id, entry.Id);
                    activity?.SetTag("mpp.outcome", nameof(PaymentOutcome.Unknown));
                    throw new PaymentOutcomeUnknownException(
                        $"The credential for challenge {challenge.Id} was sent to {endpoint} but no answer was read ({ex.GetType().Name}). The payment may have been taken: its budget reservation is kept and it will not be paid again automatically; see journal entry {entry.Id}.",
                        entry.Id,
                        challenge.Id,
                        ex);
                }
            }

            var status = (int)answer.StatusCode;
            if (answer.IsSuccessStatusCode || answer.StatusCode == HttpStatusCode.Forbidden)
            {
                // 2xx, or 403 "paid but denied" (the payment was valid: never pay again for it).
                var receipt = answer.IsSuccessStatusCode ? ReadReceipt(answer, challenge) : null;
                var stored = PaymentSelection.ToStored(services, entry, chosenQuote, receipt);
                services.Metrics.Payment(chosenQuote, PaymentOutcome.Settled, services.Time.GetElapsedTime(negotiationStarted));
                services.Metrics.Rounds(call.Rounds);
                Log.Settled(services.Logger, challenge.Id, status, receipt?.Reference);
                activity?.SetTag("mpp.outcome", nameof(PaymentOutcome.Settled));
                await PaymentSelection.RecordOutcomeAsync(services, chosen.Method, new PaymentSettlement(chosenQuote, PaymentOutcome.Settled, receipt, null, status) { Reservation = handOver }, handOver is null ? reservation : null, entry.Id, stored).ConfigureAwait(false);
                answer.SetPaymentDetails(paidRequest, call.Details(chosenQuote, PaymentOutcome.Settled, receipt, isDryRun: false));
                return answer;
            }

            if (answer.StatusCode == HttpStatusCode.PaymentRequired)
            {
                var problem = await ReadProblemAsync(answer, cancellationToken).ConfigureAwait(false);
                if (sends.Count > 1)
                {
                    // A retry handler inside this one sent the credential again: the server may have taken an earlier send (a
                    // 5xx after settling, then "challenge already used"), so nothing more is paid for this call.
                    services.Metrics.Payment(chosenQuote, PaymentOutcome.Unknown, services.Time.GetElapsedTime(negotiationStarted));
                    Log.CredentialResent(services.Logger, challenge.Id, sends.Count, entry.Id);
                    activity?.SetTag("mpp.outcome", nameof(PaymentOutcome.Unknown));
                    await PaymentSelection.RecordOutcomeAsync(services, chosen.Method, new PaymentSettlement(chosenQuote, PaymentOutcome.Unknown, null, problem, status) { Reservation = handOver }, handOver is null ? reservation : null, entry.Id, null).ConfigureAwait(false);
                    answer.Dispose();
                    throw new PaymentOutcomeUnknownException(
                        $"The credential for challenge {challenge.Id} was sent {sends.Count} times by a retry handler inside the payment handler and the server answered the last with 402{(problem?.Code is { } code ? $" ({code})" : string.Empty)}. An earlier send may have been accepted: it is counted as spent and nothing more is paid for this call; see journal entry {entry.Id}.",
                        entry.Id,
                        challenge.Id,
                        null);
                }

                // A refused credential may still be settled by whoever holds it (a signed transaction stays valid
                // until it expires), so it stays counted; reconciliation can release it later.
                services.Metrics.Payment(chosenQuote, PaymentOutcome.Rejected, services.Time.GetElapsedTime(negotiationStarted));
                Log.Rejected(services.Logger, challenge.Id, status, problem?.Type);
                await PaymentSelection.RecordOutcomeAsync(services, chosen.Method, new PaymentSettlement(chosenQuote, PaymentOutcome.Rejected, null, problem, status) { Reservation = handOver }, handOver is null ? reservation : null, entry.Id, null).ConfigureAwait(false);
                call.LastProblem = problem;
                call.LastOutcome = PaymentOutcome.Rejected;
                if (challenge.Intent == "charge")
                {
                    call.PaidChargeIds.Add(challenge.Id);
                }

                if (PaymentSelection.EndsCall(call, problem, problem?.Type == PaymentProblemTypes.VerificationFailed))
                {
                    throw await RejectedAsync(answer, call, $"the server refused the credential ({problem?.Code ?? problem?.Type}), which paying again would not fix", cancellationToken).ConfigureAwait(false);
                }

                response = answer;
                continue;
            }

            // Any other status after paying: the server may or may not have taken the payment.
            var failure = await ReadProblemAsync(answer, cancellationToken).ConfigureAwait(false);
            services.Metrics.Payment(chosenQuote, PaymentOutcome.Unknown, services.Time.GetElapsedTime(negotiationStarted));
            Log.UnexpectedStatusAfterPaying(services.Logger, status, challenge.Id);
            await PaymentSelection.RecordOutcomeAsync(services, chosen.Method, new PaymentSettlement(chosenQuote, PaymentOutcome.Unknown, null, failure, status) { Reservation = handOver }, handOver is null ? reservation : null, entry.Id, null).ConfigureAwait(false);
            call.LastOutcome = PaymentOutcome.Unknown;
            if (failure?.Code is not null)
            {
                // The server answered in MPP terms (e.g. internal-payment-error): a typed failure, never a silent one.
                call.LastProblem = failure;
                throw await RejectedAsync(answer, call, $"the server could not process the payment (HTTP {status}, {failure.Code}); its outcome is unknown, so the budget keeps it counted", cancellationToken).ConfigureAwait(false);
            }

            answer.SetPaymentDetails(paidRequest, call.Details(chosenQuote, PaymentOutcome.Unknown, receipt: null, isDryRun: false));
            return answer;
        }
    }

    private async ValueTask<HttpResponseMessage> UnpayableAsync(HttpResponseMessage response, PaymentCall call, string? rule, string? reason, CancellationToken cancellationToken)
    {
        if (rule is not null)
        {
            call.Refuse(_services, null, rule, reason!);
        }

        var last = call.Refusals.Count > 0 ? call.Refusals[^1] : new PaymentRefusal(null, "unpayable", "No challenge could be paid.");
        Log.Unpayable(_services.Logger, new LoggedUri(response.RequestMessage?.RequestUri), last.Reason);
        if (call.Rounds > 0)
        {
            throw await RejectedAsync(response, call, $"the server refused the credential and the next challenge cannot be paid ({last.Rule}: {last.Reason})", cancellationToken).ConfigureAwait(false);
        }

        if (call.Options.ThrowWhenUnpayable)
        {
            response.Dispose();
            throw new PaymentDeniedException(last.Rule, $"The 402 from {Log.Endpoint(call.Original.RequestUri)} cannot be paid: {last.Reason}", [.. call.Refusals]);
        }

        response.SetPaymentDetails(call.Original, call.Details(quote: null, outcome: null, receipt: null, isDryRun: false));
        return response;
    }

    private async ValueTask<PaymentRejectedException> RejectedAsync(HttpResponseMessage response, PaymentCall call, string why, CancellationToken cancellationToken)
    {
        var problem = call.LastProblem ?? await ReadProblemAsync(response, cancellationToken).ConfigureAwait(false);
        var status = (int)response.StatusCode;
        var endpoint = Log.Endpoint(response.RequestMessage?.RequestUri ?? call.Original.RequestUri);
        response.Dispose();
        _services.Metrics.Rounds(call.Rounds);
        return new PaymentRejectedException(
            $"Payment for {endpoint} failed after {call.Rounds} credential(s): {why}." + (problem is null ? string.Empty : $" Last problem: {problem}."),
            status,
            problem,
            call.Details(call.LastQuote, call.LastOutcome, receipt: null, isDryRun: false));
    }

    private PaymentReceipt? ReadReceipt(HttpResponseMessage answer, PaymentChallenge challenge)
    {
        if (!answer.Headers.NonValidated.TryGetValues(MppHeaderNames.PaymentReceipt, out var values) || values.Count == 0)
        {
            Log.ReceiptInvalid(_services.Logger, challenge.Id, "the response has no Payment-Receipt");
            return null;
        }

        if (!PaymentReceipt.TryParse(values.First(), out var receipt))
        {
            Log.ReceiptInvalid(_services.Logger, challenge.Id, "the Payment-Receipt cannot be parsed");
            return null;
        }

        return PaymentSelection.Validate(_services, receipt, challenge, "the response has no Payment-Receipt");
    }

    private static async ValueTask<PaymentProblem?> ReadProblemAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            // Buffered (bounded) so the caller can still read the body.
#if NET9_0_OR_GREATER
            await response.Content.LoadIntoBufferAsync(ChallengeLimits.MaxEncodedValueLength, cancellationToken).ConfigureAwait(false);
#else
            await response.Content.LoadIntoBufferAsync(ChallengeLimits.MaxEncodedValueLength).ConfigureAwait(false);
#endif
            var bytes = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
            return PaymentProblem.TryParse(bytes, out var problem) ? problem : null;
        }
        catch (HttpRequestException)
        {
            return null; // larger than any problem document, or the body failed: no problem details
        }
    }

    private async ValueTask<HttpResponseMessage> SendFollowingRedirectsAsync(HttpRequestMessage request, bool replayable, MppPaymentOptions options, CancellationToken cancellationToken)
    {
        var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        return await FollowRedirectsAsync(request, response, replayable, options, cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask<HttpResponseMessage> FollowRedirectsAsync(HttpRequestMessage request, HttpResponseMessage response, bool replayable, MppPaymentOptions options, CancellationToken cancellationToken)
    {
        if (!options.FollowRedirects)
        {
            return response;
        }

        var current = request;
        for (var hops = 0; hops < options.MaxRedirects && IsRedirect(response.StatusCode) && response.Headers.Location is { } location; hops++)
        {
            var next = CreateRedirect(current, location, response.StatusCode, replayable);
            if (next is null)
            {
                break;
            }

            response.Dispose();
            current = next;
            response = await base.SendAsync(current, cancellationToken).ConfigureAwait(false);
            response.RequestMessage ??= current;
        }

        return response;
    }

    private static bool IsRedirect(HttpStatusCode status) => status is HttpStatusCode.MovedPermanently or HttpStatusCode.Found or HttpStatusCode.SeeOther or HttpStatusCode.TemporaryRedirect or HttpStatusCode.PermanentRedirect;

    private static HttpRequestMessage? CreateRedirect(HttpRequestMessage current, Uri location, HttpStatusCode status, bool replayable)
    {
        var from = current.RequestUri!;
        var to = location.IsAbsoluteUri ? location : new Uri(from, location);
        if ((to.Scheme != Uri.UriSchemeHttp && to.Scheme != Uri.UriSchemeHttps) || (from.Scheme == Uri.UriSchemeHttps && to.Scheme == Uri.UriSchemeHttp))
        {
            return null; // no other schemes, no downgrade to plain HTTP
        }

        var method = current.Method;
        var keepBody = true;
        if (status == HttpStatusCode.SeeOther ? method != HttpMethod.Head : (status is HttpStatusCode.MovedPermanently or HttpStatusCode.Found && method == HttpMethod.Post))
        {
            method = HttpMethod.Get;
            keepBody = false;
        }

        if (keepBody && current.Content is not null && !replayable)
        {
            return null; // a streamed body is never sent twice
        }

        var next = new HttpRequestMessage(method, to) { Version = current.Version, VersionPolicy = current.VersionPolicy, Content = keepBody ? current.Content : null };
        var crossOrigin = !SameOrigin(from, to);
        foreach (var header in current.Headers)
        {
            if (crossOrigin && IsOriginBound(header.Key))
            {
                continue; // credentials and cookies stay with their origin
            }

            next.Headers.TryAddWithoutValidation(header.Key, header.Value);
        }

        CopyOptions(current, next);
        return next;
    }

    private static bool IsOriginBound(string header)
        => header.Equals(MppHeaderNames.Authorization, StringComparison.OrdinalIgnoreCase)
            || header.Equals(MppHeaderNames.PaymentAuthorization, StringComparison.OrdinalIgnoreCase)
            || header.Equals("Proxy-Authorization", StringComparison.OrdinalIgnoreCase)
            || header.Equals("Cookie", StringComparison.OrdinalIgnoreCase);

    private static HttpRequestMessage CloneForPayment(HttpRequestMessage source, Uri uri, string credentialHeader, string credentialValue, string? idempotencyKey)
    {
        var clone = new HttpRequestMessage(source.Method, uri) { Version = source.Version, VersionPolicy = source.VersionPolicy, Content = source.Content };
        foreach (var header in source.Headers)
        {
            // One Payment credential per request: drop an earlier round's, and any Authorization the credential replaces.
            if (header.Key.Equals(MppHeaderNames.PaymentAuthorization, StringComparison.OrdinalIgnoreCase) ||
                (header.Key.Equals(MppHeaderNames.Authorization, StringComparison.OrdinalIgnoreCase) &&
                 (credentialHeader == MppHeaderNames.Authorization || header.Value.Any(v => v.StartsWith("Payment ", StringComparison.OrdinalIgnoreCase)))))
            {
                continue;
            }

            clone.Headers.TryAddWithoutValidation(header.Key, header.Value);
        }

        clone.Headers.TryAddWithoutValidation(credentialHeader, credentialValue);
        if (idempotencyKey is not null && !clone.Headers.Contains(MppHeaderNames.IdempotencyKey))
        {
            clone.Headers.TryAddWithoutValidation(MppHeaderNames.IdempotencyKey, idempotencyKey);
        }

        CopyOptions(source, clone);
        return clone;
    }

    private static void CopyOptions(HttpRequestMessage from, HttpRequestMessage to)
    {
        var target = (IDictionary<string, object?>)to.Options;
        foreach (var option in from.Options)
        {
            target[option.Key] = option.Value;
        }
    }

    private static bool SameOrigin(Uri a, Uri b)
        => string.Equals(a.Scheme, b.Scheme, StringComparison.OrdinalIgnoreCase)
            && string.Equals(a.IdnHost, b.IdnHost, StringComparison.OrdinalIgnoreCase)
            && a.Port == b.Port;


    /// <summary>The state of one logical call across its payment rounds.</summary>
    private sealed class PaymentCall(HttpRequestMessage original, MppPaymentOptions options) : NegotiationState
    {
        private string? _idempotencyKey;

        public HttpRequestMessage Original { get; } = original;

        public MppPaymentOptions Options { get; } = options;

        /// <summary>One key per logical call, for unsafe methods the caller did not key: kept across every round and retry.</summary>
        public string? IdempotencyKey
        {
            get
            {
                if (_idempotencyKey is null && Options.SendIdempotencyKey && !IsSafe(Original.Method) && !Original.Headers.Contains(MppHeaderNames.IdempotencyKey))
                {
                    _idempotencyKey = Guid.NewGuid().ToString("N");
                }

                return _idempotencyKey;
            }
        }

        private static bool IsSafe(HttpMethod method) => method == HttpMethod.Get || method == HttpMethod.Head || method == HttpMethod.Options || method == HttpMethod.Trace;
    }
}
