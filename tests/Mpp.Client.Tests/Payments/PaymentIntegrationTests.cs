using System.Net;
using System.Security.Cryptography;
using Mpp.Client.Protocol;

namespace Mpp.Client.Tests.Payments;

/// <summary>The SDK against a real MPP server on Kestrel at 127.0.0.1.</summary>
[NonParallelizable]
public sealed class PaymentIntegrationTests
{
    private MiniMppServer _server = null!;

    [SetUp]
    public async Task StartServer() => _server = await MiniMppServer.StartAsync();

    [TearDown]
    public async Task StopServer() => await _server.DisposeAsync();

    [Test]
    public async Task A_post_body_is_replayed_byte_identical()
    {
        _server.Routes["/paid"] = new MiniRoute();
        using var harness = PaymentHarness.Create();
        var body = RandomNumberGenerator.GetBytes(200_000);

        using var response = await harness.Client.PostAsync(_server.Url("/paid"), new ByteArrayContent(body));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), await response.Content.ReadAsStringAsync());
        var hashes = _server.Seen.Select(s => s.BodySha256).ToList();
        Assert.That(hashes, Has.Count.EqualTo(2));
        Assert.That(hashes.Distinct().Single(), Is.EqualTo(Convert.ToHexString(SHA256.HashData(body))));
        Assert.That(await response.Content.ReadAsStringAsync(), Is.EqualTo("paid:" + hashes[0]));
    }

    [Test]
    public async Task A_seekable_stream_body_is_buffered_and_replayed_byte_identical()
    {
        _server.Routes["/paid"] = new MiniRoute();
        using var harness = PaymentHarness.Create();
        var body = RandomNumberGenerator.GetBytes(5_000);

        using var response = await harness.Client.PostAsync(_server.Url("/paid"), new StreamContent(new MemoryStream(body)));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(_server.Seen.Select(s => s.BodySha256).Distinct().Single(), Is.EqualTo(Convert.ToHexString(SHA256.HashData(body))));
    }

    [Test]
    public async Task A_streamed_body_is_never_replayed()
    {
        _server.Routes["/paid"] = new MiniRoute();
        using var harness = PaymentHarness.Create();

        using var response = await harness.Client.PostAsync(_server.Url("/paid"), new StreamContent(new NonSeekableStream(RandomNumberGenerator.GetBytes(5_000))));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.PaymentRequired));
        Assert.That(response.GetPaymentDetails()!.Refusals.Single().Rule, Is.EqualTo("request.body-not-replayable"));
        Assert.That(_server.Seen, Has.Count.EqualTo(1));
        Assert.That(harness.Method.Signatures, Is.Zero);
    }

    [Test]
    public async Task One_thousand_concurrent_calls_against_a_budget_for_exactly_n_pay_exactly_n()
    {
        const int allowed = 137;
        _server.Routes["/paid"] = new MiniRoute(Amount: "1");
        using var harness = PaymentHarness.Create(o =>
        {
            o.Budget.Limits.Clear();
            o.Budget.Limit(TestChargeMethod.Coin, perRequest: 0.01m, total: allowed / 100m);
        });

        var responses = await Task.WhenAll(Enumerable.Range(0, 1000).Select(async _ =>
        {
            using var response = await harness.Client.GetAsync(_server.Url("/paid"));
            var refusals = response.GetPaymentDetails()?.Refusals;
            return (response.StatusCode, Rule: refusals is { Count: > 0 } ? refusals[0].Rule : null);
        }));

        var spent = await harness.SpentAsync();
        Assert.Multiple(() =>
        {
            Assert.That(responses.Count(r => r.StatusCode == HttpStatusCode.OK), Is.EqualTo(allowed));
            Assert.That(responses.Where(r => r.StatusCode != HttpStatusCode.OK).Select(r => r.Rule).Distinct().Single(), Is.EqualTo("budget.total"));
            Assert.That(_server.Settled, Is.EqualTo(allowed));
            Assert.That(harness.Method.Signatures, Is.EqualTo(allowed));
            Assert.That(spent.Committed, Is.EqualTo(new System.Numerics.BigInteger(allowed)));
            Assert.That(spent.Total, Is.LessThanOrEqualTo(new System.Numerics.BigInteger(allowed)));
        });
    }

    [Test]
    public async Task A_server_that_answers_402_forever_is_paid_at_most_max_payment_rounds_times()
    {
        _server.Routes["/forever"] = new MiniRoute { Behavior = RouteBehavior.Forever };
        using var harness = PaymentHarness.Create(o => o.MaxPaymentRounds = 3);

        var ex = Assert.ThrowsAsync<PaymentRejectedException>(() => harness.Client.GetAsync(_server.Url("/forever")));

        Assert.That(_server.CredentialsReceived, Is.EqualTo(3));
        Assert.That(harness.Method.Signatures, Is.EqualTo(3));
        Assert.That(ex!.StatusCode, Is.EqualTo(402));
        Assert.That((await harness.SpentAsync()).Total, Is.EqualTo(new System.Numerics.BigInteger(300)));
    }

    [Test]
    public async Task A_dropped_connection_after_the_credential_is_an_unknown_outcome_paid_once_with_the_reservation_kept()
    {
        _server.Routes["/drop"] = new MiniRoute { Behavior = RouteBehavior.DropAfterCredential };
        using var harness = PaymentHarness.Create();

        var ex = Assert.ThrowsAsync<PaymentOutcomeUnknownException>(() => harness.Client.GetAsync(_server.Url("/drop")));

        Assert.That(ex!.InnerException, Is.InstanceOf<HttpRequestException>());
        Assert.That(_server.CredentialsReceived, Is.EqualTo(1));
        Assert.That(harness.Method.Signatures, Is.EqualTo(1));
        Assert.That((await harness.SpentAsync()).Unknown, Is.EqualTo(new System.Numerics.BigInteger(100)));
        Assert.That((await harness.Journal.GetAllAsync(CancellationToken.None)).Single().State, Is.EqualTo(JournalState.Unknown));
    }

    [Test]
    public async Task A_redirect_to_another_origin_never_carries_a_credential()
    {
        await using var other = await MiniMppServer.StartAsync();
        other.Routes["/paid"] = new MiniRoute();
        other.Routes["/sink"] = new MiniRoute { Behavior = RouteBehavior.Sink };
        _server.Routes["/away"] = new MiniRoute { Behavior = RouteBehavior.RedirectUnpaid, RedirectTo = other.Url("/paid") };
        _server.Routes["/paid-then-away"] = new MiniRoute { Behavior = RouteBehavior.RedirectPaid, RedirectTo = other.Url("/sink") };
        using var harness = PaymentHarness.Create();

        using var refused = await harness.Client.GetAsync(_server.Url("/away"));
        using var followed = await harness.Client.GetAsync(_server.Url("/paid-then-away"));

        Assert.That(refused.GetPaymentDetails()!.Refusals.Single().Rule, Is.EqualTo("origin.changed"));
        Assert.That(followed.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(other.Seen.Select(s => s.Path), Is.EquivalentTo(new[] { "/paid", "/sink" }));
        Assert.That(other.Seen.All(s => s.Authorization is null && s.PaymentAuthorization is null), Is.True);
        Assert.That(_server.CredentialsReceived, Is.EqualTo(1));
    }

    [Test]
    public async Task Plain_http_to_loopback_is_refused_unless_allowed()
    {
        _server.Routes["/paid"] = new MiniRoute();
        using var harness = PaymentHarness.Create(o => o.AllowInsecureLoopback = false);

        using var response = await harness.Client.GetAsync(_server.Url("/paid"));

        Assert.That(response.GetPaymentDetails()!.Refusals.Single().Rule, Is.EqualTo("transport.insecure"));
        Assert.That(_server.CredentialsReceived, Is.Zero);
    }

    [Test]
    public async Task A_payment_authorization_challenge_is_paid_in_that_field()
    {
        _server.Routes["/paid"] = new MiniRoute { UsePaymentAuthorization = true };
        using var harness = PaymentHarness.Create();

        using var response = await harness.Client.GetAsync(_server.Url("/paid"));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(_server.Seen.Last().PaymentAuthorization, Does.StartWith("Payment "));
        Assert.That(_server.Seen.Last().Authorization, Is.Null);
    }

    [Test]
    public async Task Stripe_charges_are_paid_with_a_shared_payment_token_and_echo_the_bound_external_id()
    {
        _server.Routes["/stripe"] = new MiniRoute(Method: "stripe", Amount: "250", Currency: "usd") { ExternalId = "order-42" };
        using var harness = PaymentHarness.Create(
            o => o.Budget.Limit(FiatAssets.Usd, perRequest: 5m, total: 10m),
            mpp: b => b.AddStripe(_server.Stripe));

        using var response = await harness.Client.GetAsync(_server.Url("/stripe"));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), await response.Content.ReadAsStringAsync());
        var receipt = response.GetPaymentReceipt()!;
        Assert.That(receipt.Method, Is.EqualTo("stripe"));
        Assert.That(receipt.Reference, Does.StartWith("pi_"));
        Assert.That(receipt.ExternalId, Is.EqualTo("order-42"));
        var token = _server.Stripe.Requests.Single();
        Assert.That((token.Amount, token.Currency, token.NetworkId, token.ExternalId), Is.EqualTo((new System.Numerics.BigInteger(250), "usd", "profile_test", "order-42")));
        Assert.That((await harness.Ledger.GetSummaryAsync("paid", FiatAssets.Usd.Id, CancellationToken.None)).Committed, Is.EqualTo(new System.Numerics.BigInteger(250)));
    }

    [Test]
    public async Task A_stripe_charge_over_the_per_request_limit_mints_no_token()
    {
        _server.Routes["/stripe"] = new MiniRoute(Method: "stripe", Amount: "2500", Currency: "usd");
        using var harness = PaymentHarness.Create(o => o.Budget.Limit(FiatAssets.Usd, perRequest: 5m, total: 10m), mpp: b => b.AddStripe(_server.Stripe));

        using var response = await harness.Client.GetAsync(_server.Url("/stripe"));

        Assert.That(response.GetPaymentDetails()!.Refusals.Single().Rule, Is.EqualTo("budget.per-request"));
        Assert.That(_server.Stripe.Requests, Is.Empty);
    }

    [Test]
    public async Task Nothing_secret_reaches_logs_traces_or_metrics()
    {
        using var capture = new TelemetryCapture();
        _server.Routes["/paid"] = new MiniRoute();
        _server.Routes["/stripe"] = new MiniRoute(Method: "stripe", Amount: "250", Currency: "usd");
        _server.Routes["/drop"] = new MiniRoute { Behavior = RouteBehavior.DropAfterCredential };
        _server.Routes["/forever"] = new MiniRoute { Behavior = RouteBehavior.Forever };
        using var harness = PaymentHarness.Create(o => o.Budget.Limit(FiatAssets.Usd, perRequest: 5m, total: 10m), mpp: b => b.AddStripe(_server.Stripe));

        (await harness.Client.GetAsync(_server.Url("/paid"))).Dispose();
        (await harness.Client.PostAsync(_server.Url("/stripe"), new StringContent("{}"))).Dispose();
        Assert.CatchAsync<MppException>(() => harness.Client.GetAsync(_server.Url("/drop")));
        var rejected = Assert.CatchAsync<MppException>(() => harness.Client.GetAsync(_server.Url("/forever")));

        var emitted = string.Join("\n", harness.Logs.Lines.Concat(capture.Lines).Append(rejected!.ToString()));
        var secrets = _server.Seen.SelectMany(s => new[] { s.Authorization, s.PaymentAuthorization }).OfType<string>()
            .SelectMany(header => new[] { header, header["Payment ".Length..] })
            .Concat(harness.Method.Proofs)
            .Concat(SptTokens(_server))
            .ToList();
        Assert.That(secrets, Has.Count.GreaterThan(6), "the scenario must have produced credentials to look for");
        Assert.That(emitted, Does.Contain("Paying challenge").And.Contain("mpp.negotiate").And.Contain("mpp.client.payments"), "telemetry was captured");
        foreach (var secret in secrets)
        {
            Assert.That(emitted, Does.Not.Contain(secret));
        }
    }

    [Test]
    public async Task A_402_with_8_kb_of_unknown_method_challenges_before_a_payable_one_is_paid_exactly_once()
    {
        // Unknown methods in one comma-joined value and in values of their own, ahead of the payable challenge.
        var unknown = Enumerable.Range(0, 100).Select(UnknownChallenge).ToList();
        var leading = Enumerable.Range(0, 10).Select(i => string.Join(", ", unknown.Skip(i * 8).Take(8))).Concat(unknown.Skip(80)).ToList();
        Assert.That(leading.Sum(v => v.Length), Is.GreaterThan(8 * 1024).And.LessThan(ChallengeLimits.MaxChallengeHeaderLength - 1024));
        _server.Routes["/paid"] = new MiniRoute { LeadingChallenges = leading };
        using var harness = PaymentHarness.Create();

        using var response = await harness.Client.GetAsync(_server.Url("/paid"));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), await response.Content.ReadAsStringAsync());
        var details = response.GetPaymentDetails()!;
        Assert.That(details.Outcome, Is.EqualTo(PaymentOutcome.Settled));
        Assert.That(details.Receipt!.Reference, Does.StartWith("test-"));
        Assert.That(details.Refusals.Count(r => r.Rule == "method.unsupported"), Is.EqualTo(100), "every unknown challenge was read and explained");
        Assert.That((harness.Method.Signatures, _server.CredentialsReceived, _server.Settled), Is.EqualTo((1, 1, 1)), "one signature, one credential, one settlement");
        Assert.That((await harness.SpentAsync()).Committed, Is.EqualTo(new System.Numerics.BigInteger(100)));
        var stored = await harness.Receipts.GetAllAsync(CancellationToken.None);
        Assert.That(stored.Single().Reference, Is.EqualTo(details.Receipt.Reference));
    }

    [Test]
    public async Task A_402_whose_challenge_headers_pass_the_size_limit_is_refused_with_a_reason_and_nothing_is_paid()
    {
        var leading = Enumerable.Range(0, 200).Select(UnknownChallenge).ToList();
        Assert.That(leading.Sum(v => v.Length), Is.GreaterThan(ChallengeLimits.MaxChallengeHeaderLength).And.LessThan(60 * 1024), "under HttpClient's own 64 KB header limit");
        _server.Routes["/paid"] = new MiniRoute { LeadingChallenges = leading };
        using var harness = PaymentHarness.Create();
        using var throwing = PaymentHarness.Create(o => o.ThrowWhenUnpayable = true);

        using var response = await harness.Client.GetAsync(_server.Url("/paid"));
        var denied = Assert.ThrowsAsync<PaymentDeniedException>(() => throwing.Client.GetAsync(_server.Url("/paid")));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.PaymentRequired));
        var refusal = response.GetPaymentDetails()!.Refusals.Single();
        Assert.That(refusal.Rule, Is.EqualTo("challenge.too-large"));
        Assert.That(refusal.Reason, Does.Contain("more than the 32768"));
        Assert.That(denied!.Rule, Is.EqualTo("challenge.too-large"));
        Assert.That((harness.Method.Signatures + throwing.Method.Signatures, _server.CredentialsReceived, _server.Settled), Is.EqualTo((0, 0, 0)));
        Assert.That((await harness.SpentAsync()).Total.IsZero, Is.True);
    }

    private static string UnknownChallenge(int i)
        => $"Payment id=\"unknown-{i:D4}\", realm=\"api.example.com\", method=\"lightning\", intent=\"charge\", request=\"eyJhbW91bnQiOiIxMDAwIiwiY3VycmVuY3kiOiJzYXQiLCJpbnZvaWNlIjoibG5iYzEwdTFwM3BqMjU3cHA1In0\", expires=\"2099-01-01T00:00:00Z\"";

    private static IEnumerable<string> SptTokens(MiniMppServer server)
        => server.Seen.Select(s => s.Authorization).OfType<string>()
            .Select(a => PaymentCredential.TryParse(a, out var c) && c.Payload.TryGetProperty("spt", out var spt) ? spt.GetString() : null)
            .OfType<string>();
}
