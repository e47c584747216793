using System.Text.Json;
using Mpp.Client.Protocol;

namespace Mpp.Client.Stripe;

/// <summary>
/// The Stripe charge method (<c>method="stripe"</c>, <c>intent="charge"</c>): pays with a Shared Payment Token
/// that the application's own backend mints for the seller, within the challenge's amount, currency and
/// expiry. The SDK never holds a Stripe secret key.
/// </summary>
public sealed class StripeChargeMethod : IPaymentMethod
{
    private readonly ISharedPaymentTokenProvider _tokens;
    private readonly TimeProvider _time;

    /// <summary>Initializes the method.</summary>
    /// <param name="tokens">Mints Shared Payment Tokens (through the application's backend).</param>
    /// <param name="timeProvider">The clock, for token expiry.</param>
    public StripeChargeMethod(ISharedPaymentTokenProvider tokens, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        ArgumentNullException.ThrowIfNull(timeProvider);
        _tokens = tokens;
        _time = timeProvider;
    }

    /// <inheritdoc />
    public string Method => "stripe";

    /// <inheritdoc />
    public bool CanPay(PaymentChallenge challenge) => challenge is { Method: "stripe", Intent: "charge" };

    /// <inheritdoc />
    public ValueTask<PaymentQuote> QuoteAsync(PaymentChallenge challenge, PaymentContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(challenge);
        var request = challenge.Request;
        var amountText = Member(request, "amount");
        if (!AssetAmount.TryParseUnits(amountText, out var units) || units.IsZero)
        {
            throw Invalid($"'amount' must be a positive integer of minor units; got '{amountText}'.");
        }

        var currency = Member(request, "currency");
        if (currency is not { Length: 3 } || !currency.All(char.IsAsciiLetter))
        {
            throw Invalid($"'currency' must be an ISO 4217 code; got '{currency}'.");
        }

        if (!request.TryGetProperty("methodDetails", out var details) || details.ValueKind != JsonValueKind.Object)
        {
            throw Invalid("'methodDetails' is required.");
        }

        var networkId = Member(details, "networkId");
        if (string.IsNullOrEmpty(networkId))
        {
            throw Invalid("'methodDetails.networkId' (the seller's Stripe network profile) is required.");
        }

        if (!details.TryGetProperty("paymentMethodTypes", out var types) || types.ValueKind != JsonValueKind.Array || types.GetArrayLength() == 0 || types.EnumerateArray().Any(t => t.ValueKind != JsonValueKind.String))
        {
            throw Invalid("'methodDetails.paymentMethodTypes' must be a non-empty array of strings.");
        }

        var recipients = Member(request, "recipient") is { Length: > 0 } recipient ? new[] { recipient } : [networkId];
        return ValueTask.FromResult(new PaymentQuote(challenge, new AssetAmount(AssetId.Fiat(currency), units), recipients));
    }

    /// <inheritdoc />
    public async ValueTask<PaymentCredential> CreateCredentialAsync(PaymentQuote quote, PaymentContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(quote);
        var challenge = quote.Challenge;
        var request = challenge.Request;
        var details = request.GetProperty("methodDetails");
        var externalId = Member(request, "externalId");
        var tokenRequest = new SharedPaymentTokenRequest(
            challenge.Id,
            challenge.Realm,
            quote.Amount.Units,
            quote.Amount.Asset.FiatCode!,
            Member(details, "networkId")!,
            [.. details.GetProperty("paymentMethodTypes").EnumerateArray().Select(t => t.GetString()!)],
            challenge.Expires ?? _time.GetUtcNow().AddHours(1),
            externalId);
        var token = await _tokens.CreateTokenAsync(tokenRequest, cancellationToken).ConfigureAwait(false);
        if (string.IsNullOrEmpty(token))
        {
            throw new PaymentConfigurationException("The ISharedPaymentTokenProvider returned no token.");
        }

        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();

            // A server-bound externalId must be echoed, or the server refuses the credential.
            if (externalId is not null)
            {
                writer.WriteString("externalId", externalId);
            }

            writer.WriteString("spt", token);
            writer.WriteEndObject();
        }

        using var payload = JsonDocument.Parse(buffer.ToArray());
        return new PaymentCredential(challenge, payload.RootElement.Clone());
    }

    /// <inheritdoc />
    public ValueTask OnSettledAsync(PaymentSettlement settlement, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    private static string? Member(JsonElement obj, string name)
        => obj.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static PaymentDeniedException Invalid(string reason) => new("method.invalid-request", "The Stripe charge request is invalid: " + reason);
}

/// <summary>Mints a Stripe Shared Payment Token. Implement it by calling your own backend, which holds the Stripe key and must derive the limits itself.</summary>
public interface ISharedPaymentTokenProvider
{
    /// <summary>Mints a token limited to the request's amount, currency, seller and expiry.</summary>
    /// <param name="request">What the token is for.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The token (<c>spt_…</c>).</returns>
    ValueTask<string> CreateTokenAsync(SharedPaymentTokenRequest request, CancellationToken cancellationToken);
}

/// <summary>What a Shared Payment Token must be limited to.</summary>
/// <param name="ChallengeId">The challenge being paid.</param>
/// <param name="Realm">The seller's realm.</param>
/// <param name="Amount">The maximum amount, in minor units.</param>
/// <param name="Currency">The lowercase ISO 4217 currency.</param>
/// <param name="NetworkId">The seller's Stripe network profile id.</param>
/// <param name="PaymentMethodTypes">The payment method types the seller accepts.</param>
/// <param name="ExpiresAt">When the token must expire (the challenge's expiry).</param>
/// <param name="ExternalId">The seller's order reference, when the challenge has one.</param>
public sealed record SharedPaymentTokenRequest(
    string ChallengeId,
    string Realm,
    System.Numerics.BigInteger Amount,
    string Currency,
    string NetworkId,
    IReadOnlyList<string> PaymentMethodTypes,
    DateTimeOffset ExpiresAt,
    string? ExternalId);
