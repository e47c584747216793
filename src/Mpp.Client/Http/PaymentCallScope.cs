using Microsoft.Extensions.Http;

namespace Mpp.Client;

/// <summary>
/// The payment state of one logical call, carried in its request's options. Retry and hedging handlers registered
/// <em>outside</em> the payment handler send the same request again (a retry) or copies of it with the same options
/// (hedging), so every attempt of the call sees this one object: the first attempt that pays owns the call, and once it
/// has sent a credential no other attempt pays, whatever became of that credential. Retry handlers registered inside the
/// payment handler never get here: they resend the request that already carries the credential.
/// </summary>
internal sealed class PaymentCallScope
{
    private static readonly HttpRequestOptionsKey<PaymentCallScope> Key = new("Mpp.PaymentCall");

    private readonly object _gate = new();
    private object? _owner;
    private TaskCompletionSource? _ownerEnded;
    private bool _sent;
    private string? _challengeId;
    private Guid _journalEntryId;

    /// <summary>The request's scope when one was made (by <see cref="For"/>), else <see langword="null"/>: nothing is allocated.</summary>
    public static PaymentCallScope? Find(HttpRequestMessage request) => request.Options.TryGetValue(Key, out var scope) ? scope : null;

    /// <summary>The call's scope, attached to <paramref name="request"/> on first use.</summary>
    public static PaymentCallScope For(HttpRequestMessage request)
    {
        if (!request.Options.TryGetValue(Key, out var scope))
        {
            scope = new PaymentCallScope();
            request.Options.Set(Key, scope);
        }

        return scope;
    }

    /// <summary>
    /// Lets <paramref name="attempt"/> pay: the first attempt to ask owns the call; another may pay only after the owner
    /// ended without sending a credential.
    /// </summary>
    public bool TryClaim(object attempt)
    {
        lock (_gate)
        {
            if (_owner is null)
            {
                _owner = attempt;
                _ownerEnded = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                return true;
            }

            return ReferenceEquals(_owner, attempt);
        }
    }

    /// <summary>
    /// Waits until the attempt that owns the call has ended, then tries to claim it: <see cref="ClaimResult.Claimed"/> when
    /// the owner ended without sending a credential. A copy that had to wait (a hedged copy, running beside the owner) gets
    /// <see cref="ClaimResult.YieldedToOwner"/>: the owner's answer is the call's answer.
    /// </summary>
    public async ValueTask<ClaimResult> WaitAndTryClaimAsync(object attempt, CancellationToken cancellationToken)
    {
        Task? ended;
        lock (_gate)
        {
            ended = _owner is null ? null : _ownerEnded?.Task; // completed once the owner has ended
        }

        var waited = ended is { IsCompleted: false };
        if (ended is not null)
        {
            await ended.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        return TryClaim(attempt) ? ClaimResult.Claimed : waited ? ClaimResult.YieldedToOwner : ClaimResult.Refused;
    }

    /// <summary>Records that <paramref name="attempt"/> is sending a credential: from now on the call is never paid by another attempt.</summary>
    public void Sending(object attempt, string challengeId, Guid journalEntryId)
    {
        lock (_gate)
        {
            if (ReferenceEquals(_owner, attempt))
            {
                _sent = true;
                _challengeId = challengeId;
                _journalEntryId = journalEntryId;
            }
        }
    }

    /// <summary>Ends <paramref name="attempt"/>: the call is given up when it sent no credential, and waiting copies go on.</summary>
    public void Release(object attempt)
    {
        TaskCompletionSource? ended = null;
        lock (_gate)
        {
            if (ReferenceEquals(_owner, attempt))
            {
                ended = _ownerEnded;
                if (!_sent)
                {
                    _owner = null;
                    _ownerEnded = null;
                }
            }
        }

        ended?.TrySetResult();
    }

    /// <summary>Why an attempt that could not claim the call is not paid.</summary>
    public string Explain()
    {
        lock (_gate)
        {
            var journal = _journalEntryId == Guid.Empty ? string.Empty : $" (journal entry {_journalEntryId})";
            return _sent
                ? $"This request was sent again by a handler outside the payment handler (a retry or hedging handler registered before AddMppPayments()) after a credential for challenge {_challengeId} had been sent{journal}; whatever became of it, the call is not paid again. Register retry handlers after AddMppPayments() so that they resend the paid request."
                : "Another copy of this request (sent by a hedging handler registered before AddMppPayments()) is paying for it; this copy is not paid.";
        }
    }
}

/// <summary>What an attempt that did not own its call may do.</summary>
internal enum ClaimResult
{
    /// <summary>The attempt owns the call now and may pay.</summary>
    Claimed,

    /// <summary>An earlier attempt sent a credential (a retry of the same call): not paid.</summary>
    Refused,

    /// <summary>The attempt ran beside the one that paid (a hedged copy): not paid, and its answer should not win.</summary>
    YieldedToOwner,
}

/// <summary>
/// How many times one request carrying a credential went to the wire. A retry handler inside the payment handler resends
/// the same request; when the server then answers 402, an earlier send may have been taken (a 5xx after settling, then
/// "challenge already used"), so the payment handler must not pay another challenge for the call.
/// </summary>
internal sealed class CredentialSends
{
    private static readonly HttpRequestOptionsKey<CredentialSends> Key = new("Mpp.CredentialSends");
    private readonly HttpRequestMessage _request;
    private int _count;

    private CredentialSends(HttpRequestMessage request) => _request = request;

    /// <summary>How many times the request was handed to the transport (0 when nothing counts them: no client factory).</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>Starts counting the sends of <paramref name="paidRequest"/>.</summary>
    public static CredentialSends Track(HttpRequestMessage paidRequest)
    {
        var sends = new CredentialSends(paidRequest);
        paidRequest.Options.Set(Key, sends);
        return sends;
    }

    /// <summary>Counts one send, when <paramref name="request"/> is a tracked request itself (not a redirect's copy of its options).</summary>
    public static void Record(HttpRequestMessage request)
    {
        if (request.Options.TryGetValue(Key, out var sends) && ReferenceEquals(sends._request, request))
        {
            Interlocked.Increment(ref sends._count);
        }
    }
}

/// <summary>Lets the payment code see each request that passes a point of the handler chain, then sends it on.</summary>
internal sealed class RequestObserverHandler(Action<HttpRequestMessage> observe) : DelegatingHandler
{
    protected override HttpResponseMessage Send(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        observe(request);
        return base.Send(request, cancellationToken);
    }

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        observe(request);
        return base.SendAsync(request, cancellationToken);
    }
}

/// <summary>
/// In every client that has a payment handler (HTTP or JSON-RPC), after all of the client's own handler registrations
/// ran: when handlers sit outside it, an observer outermost that attaches the <see cref="PaymentCallScope"/> (outside
/// any retry or hedging handler, whatever their order); when handlers sit inside it, one innermost that counts the
/// <see cref="CredentialSends"/> (inside any retry handler). A client with neither pays nothing for them per request.
/// </summary>
internal sealed class PaymentCallScopeFilter : IHttpMessageHandlerBuilderFilter
{
    public Action<HttpMessageHandlerBuilder> Configure(Action<HttpMessageHandlerBuilder> next)
    {
        ArgumentNullException.ThrowIfNull(next);
        return builder =>
        {
            next(builder);
            var handlers = builder.AdditionalHandlers;
            var payment = handlers.ToList().FindIndex(h => h is PaymentHandler or JsonRpcPaymentHandler);
            if (payment < 0)
            {
                return;
            }

            if (handlers.Skip(payment + 1).Any(MaySend))
            {
                handlers.Add(new RequestObserverHandler(CredentialSends.Record));
            }

            if (handlers.Take(payment).Any(MaySend))
            {
                handlers.Insert(0, new RequestObserverHandler(static request => PaymentCallScope.For(request)));
            }
        };
    }

    /// <summary>Whether a handler could send a request more than once: any but HttpClientFactory's logging handlers.</summary>
    private static bool MaySend(DelegatingHandler handler) => handler.GetType().Namespace != "Microsoft.Extensions.Http.Logging";
}
