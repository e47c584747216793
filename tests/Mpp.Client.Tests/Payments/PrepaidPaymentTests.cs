using System.Net;
using System.Text.Json;
using Mpp.Client.Protocol;
using RichardSzalay.MockHttp;

namespace Mpp.Client.Tests.Payments;

/// <summary>The handler's up-front path (sessions): one round trip per paid call, and every way out of it.</summary>
public sealed class PrepaidPaymentTests
{
    private const string Url = "https://api.example.com/metered";

    /// <summary>Attaches a fixed credential up front (as a session method attaches its next voucher) and records what it is told.</summary>
    private sealed class TestPrepayer : IPrepayingPaymentMethod
    {
        public PaymentChallenge Challenge { get; } = Answers.Challenge(method: "meter", intent: "session");

        public List<PaymentOutcome> Outcomes { get; } = [];

        public bool Offer { get; set; } = true;

        public string Method => "meter";

        public bool CanPay(PaymentChallenge challenge) => false;

        public ValueTask<PaymentQuote> QuoteAsync(PaymentChallenge challenge, PaymentContext context, CancellationToken cancellationToken) => throw new NotSupportedException();

        public int Signatures { get; private set; }

        public ValueTask<PaymentCredential> CreateCredentialAsync(PaymentQuote quote, PaymentContext context, CancellationToken cancellationToken)
        {
            Signatures++;
            return ValueTask.FromResult(new PaymentCredential(Challenge, JsonSerializer.SerializeToElement(new { voucher = "v" }), "did:example:payer"));
        }

        public ValueTask<PaymentQuote?> TryPrepayAsync(PaymentContext context, CancellationToken cancellationToken)
            => ValueTask.FromResult(Offer ? new PaymentQuote(Challenge, new AssetAmount(TestChargeMethod.Coin.Id, 100), ["merchant-1"], prefunded: true) : null);

        public ValueTask OnSettledAsync(PaymentSettlement settlement, CancellationToken cancellationToken)
        {
            Outcomes.Add(settlement.Outcome);
            return ValueTask.CompletedTask;
        }
    }

    private static (PaymentHarness Harness, TestPrepayer Prepayer) Create(MockHttpMessageHandler server, Action<MppPaymentOptions>? configure = null)
    {
        var prepayer = new TestPrepayer();
        return (PaymentHarness.Create(configure, server, mpp: b => b.AddMethod(prepayer)), prepayer);
    }

    [Test]
    public async Task A_prepaid_call_is_one_request_with_the_credential_and_its_receipt_is_recorded()
    {
        var mock = new MockHttpMessageHandler();
        var requests = 0;
        mock.When(Url).Respond(r =>
        {
            Interlocked.Increment(ref requests);
            return Answers.HasCredential(r) ? Answers.Paid(Answers.Challenge(), method: "meter") : Answers.PaymentRequired(Answers.Challenge());
        });
        var (harness, prepayer) = Create(mock);
        using var _ = harness;

        using var response = await harness.Client.GetAsync(Url);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(requests, Is.EqualTo(1));
        Assert.That(prepayer.Outcomes, Is.EqualTo(new[] { PaymentOutcome.Settled }));
        Assert.That(response.GetPaymentDetails()!.IsPaid, Is.True);
        Assert.That((await harness.SpentAsync()).Total, Is.EqualTo(System.Numerics.BigInteger.Zero), "prefunded: the budget already holds the money");
    }

    [Test]
    public async Task A_402_to_a_prepaid_call_is_told_to_the_method_and_then_negotiated_normally()
    {
        var mock = new MockHttpMessageHandler();
        var charge = Answers.Challenge();
        mock.When(Url).Respond(r =>
        {
            var credential = r.Headers.TryGetValues("Authorization", out var values) ? values.Single() : null;
            if (credential is null || PaymentCredential.Parse(credential).Challenge.Method == "meter")
            {
                return Answers.PaymentRequired(charge);
            }

            return Answers.Paid(charge);
        });
        var (harness, prepayer) = Create(mock);
        using var _ = harness;

        using var response = await harness.Client.GetAsync(Url);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(prepayer.Outcomes, Is.EqualTo(new[] { PaymentOutcome.Rejected }));
        Assert.That(harness.Method.Signatures, Is.EqualTo(1), "the fresh challenge was paid by the normal path");
    }

    [Test]
    public async Task A_prepaid_call_without_an_answer_is_an_unknown_outcome_and_is_never_sent_again()
    {
        var mock = new MockHttpMessageHandler();
        var sent = 0;
        mock.When(Url).Respond(_ =>
        {
            Interlocked.Increment(ref sent);
            throw new HttpRequestException("connection reset");
        });
        var (harness, prepayer) = Create(mock);
        using var _ = harness;

        Assert.ThrowsAsync<PaymentOutcomeUnknownException>(() => harness.Client.GetAsync(Url));

        Assert.That(sent, Is.EqualTo(1));
        Assert.That(prepayer.Outcomes, Is.EqualTo(new[] { PaymentOutcome.Unknown }));
    }

    [Test]
    public async Task A_price_above_the_per_request_limit_is_not_paid_up_front_and_the_method_is_told_so()
    {
        var mock = new MockHttpMessageHandler();
        mock.When(Url).Respond(r => Answers.HasCredential(r) ? new HttpResponseMessage(HttpStatusCode.OK) : new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent("free") });
        var (harness, prepayer) = Create(mock, o => o.Budget.Limits[0].PerRequest = 0.5m);
        using var _ = harness;

        using var response = await harness.Client.GetAsync(Url);

        Assert.That(await response.Content.ReadAsStringAsync(), Is.EqualTo("free"), "sent without the credential");
        Assert.That(prepayer.Outcomes, Is.EqualTo(new[] { PaymentOutcome.NotSent }));
        Assert.That(prepayer.Signatures, Is.Zero, "nothing is signed for a call the policy refuses");
    }

    [Test]
    public async Task Dry_runs_and_opted_out_requests_are_never_paid_up_front()
    {
        var mock = new MockHttpMessageHandler();
        mock.When(Url).Respond(r => Answers.HasCredential(r) ? throw new InvalidOperationException("paid") : new HttpResponseMessage(HttpStatusCode.OK));
        var (harness, prepayer) = Create(mock);
        using var _ = harness;

        using (var dry = await harness.Client.SendAsync(new HttpRequestMessage(HttpMethod.Get, Url).WithPaymentDryRun()))
        {
            Assert.That(dry.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        }

        using (var optedOut = await harness.Client.SendAsync(new HttpRequestMessage(HttpMethod.Get, Url).WithoutPayment()))
        {
            Assert.That(optedOut.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        }

        Assert.That(prepayer.Outcomes, Is.Empty);
    }
}
