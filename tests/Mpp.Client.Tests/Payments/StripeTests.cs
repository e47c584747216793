using Mpp.Client.Protocol;
using Mpp.Client.Stripe;
using Mpp.Client.Tests.Vectors;

namespace Mpp.Client.Tests.Payments;

public sealed class StripeTests
{
    private static PaymentChallenge Challenge(string requestJson)
        => PaymentChallenge.Create("ch_stripe", "api.example.com", "stripe", "charge", ReferenceVectors.Json(requestJson), "2030-01-01T00:00:00Z");

    private static readonly PaymentContext Context = new("c", HttpMethod.Get, new Uri("https://api.example.com/x"), 1);

    [TestCase("""{"amount":"0","currency":"usd","methodDetails":{"networkId":"p","paymentMethodTypes":["card"]}}""")]
    [TestCase("""{"amount":"-5","currency":"usd","methodDetails":{"networkId":"p","paymentMethodTypes":["card"]}}""")]
    [TestCase("""{"amount":"1.5","currency":"usd","methodDetails":{"networkId":"p","paymentMethodTypes":["card"]}}""")]
    [TestCase("""{"amount":"100","currency":"dollars","methodDetails":{"networkId":"p","paymentMethodTypes":["card"]}}""")]
    [TestCase("""{"amount":"100","currency":"usd"}""")]
    [TestCase("""{"amount":"100","currency":"usd","methodDetails":{"paymentMethodTypes":["card"]}}""")]
    [TestCase("""{"amount":"100","currency":"usd","methodDetails":{"networkId":"p","paymentMethodTypes":[]}}""")]
    public void An_invalid_stripe_request_is_refused_before_a_token_is_minted(string requestJson)
    {
        var stripe = new FakeStripe();
        var method = new StripeChargeMethod(stripe, TimeProvider.System);

        var ex = Assert.ThrowsAsync<PaymentDeniedException>(async () => await method.QuoteAsync(Challenge(requestJson), Context, default));

        Assert.That(ex!.Rule, Is.EqualTo("method.invalid-request"));
        Assert.That(stripe.Requests, Is.Empty);
    }

    [Test]
    public async Task The_token_is_limited_to_the_challenge_and_the_payload_echoes_the_bound_external_id()
    {
        var stripe = new FakeStripe();
        var method = new StripeChargeMethod(stripe, TimeProvider.System);
        var challenge = Challenge("""{"amount":"2500","currency":"USD","externalId":"server-order-123","methodDetails":{"networkId":"profile_1","paymentMethodTypes":["card","link"]}}""");

        var quote = await method.QuoteAsync(challenge, Context, default);
        var credential = await method.CreateCredentialAsync(quote, Context, default);

        var request = stripe.Requests.Single();
        Assert.That(quote.Amount, Is.EqualTo(new AssetAmount(FiatAssets.Usd.Id, 2500)));
        Assert.That((request.Amount, request.Currency, request.NetworkId, request.ExpiresAt), Is.EqualTo((new System.Numerics.BigInteger(2500), "usd", "profile_1", challenge.Expires!.Value)));
        Assert.That(request.PaymentMethodTypes, Is.EqualTo(new[] { "card", "link" }));
        Assert.That(credential.Payload.GetProperty("externalId").GetString(), Is.EqualTo("server-order-123"));
        Assert.That(credential.Payload.GetProperty("spt").GetString(), Does.StartWith("spt_"));
        Assert.That(credential.Source, Is.Null);
    }

    // The cross-SDK vectors conformance/vectors/stripe-external-id-binding.json (tempoxyz/mpp-tools), whose
    // scenarios the runner restricts to other adapters, run here against the test server's verifier.
    [TestCase("""{"amount":"2500","currency":"USD","externalId":"server-order-123"}""", """{"spt":"spt_conformance_123","externalId":"server-order-123"}""", false, true, "server-order-123", null)]
    [TestCase("""{"amount":"2500","currency":"USD","externalId":"server-order-123"}""", """{"spt":"spt_conformance_123","externalId":"attacker-order-999"}""", false, false, null, "invalid_challenge")]
    [TestCase("""{"amount":"2500","currency":"USD"}""", """{"spt":"spt_conformance_123","externalId":"attacker-order-999"}""", false, true, null, null)]
    [TestCase("""{"amount":"2500","currency":"USD","externalId":"server-order-123"}""", """{"spt":"spt_conformance_123"}""", false, false, null, "invalid_challenge")]
    [TestCase("""{"amount":"2500","currency":"USD","externalId":"server-order-123"}""", """{"spt":"spt_conformance_123","externalId":"server-order-123"}""", true, false, null, "verification_failed")]
    public void The_external_id_binding_vectors_hold_on_the_test_server(string request, string payload, bool replayed, bool ok, string? externalId, string? errorType)
    {
        var verdict = StripeChargeVerifier.Verify(ReferenceVectors.Json(request), ReferenceVectors.Json(payload), new StripePaymentIntent("pi_conformance_123", "succeeded", replayed));

        Assert.That((verdict.Ok, verdict.ExternalId, verdict.ErrorType), Is.EqualTo((ok, externalId, errorType)));
    }

    [Test]
    public async Task Our_client_payload_satisfies_the_binding_a_server_checks()
    {
        var request = ReferenceVectors.Json("""{"amount":"2500","currency":"USD","externalId":"server-order-123","methodDetails":{"networkId":"p","paymentMethodTypes":["card"]}}""");
        var method = new StripeChargeMethod(new FakeStripe(), TimeProvider.System);
        var challenge = PaymentChallenge.Create("ch", "r", "stripe", "charge", request);
        var credential = await method.CreateCredentialAsync(await method.QuoteAsync(challenge, Context, default), Context, default);

        var verdict = StripeChargeVerifier.Verify(request, credential.Payload, new StripePaymentIntent("pi_1", "succeeded", false));

        Assert.That(verdict.Ok, Is.True);
        Assert.That(verdict.ExternalId, Is.EqualTo("server-order-123"));
    }
}
