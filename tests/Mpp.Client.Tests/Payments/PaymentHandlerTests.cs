using Microsoft.Extensions.DependencyInjection;
using System.Net;
using Mpp.Client.Protocol;
using RichardSzalay.MockHttp;

namespace Mpp.Client.Tests.Payments;

/// <summary>The payment handler's branches, against MockHttp.</summary>
public sealed class PaymentHandlerTests
{
    private const string Url = "https://api.example.com/paid";

    private static MockHttpMessageHandler Server(out List<HttpRequestMessage> paidRequests, Func<HttpRequestMessage, HttpResponseMessage>? paid = null, PaymentChallenge? challenge = null)
    {
        var mock = new MockHttpMessageHandler();
        var sent = new List<HttpRequestMessage>();
        paidRequests = sent;
        var current = challenge ?? Answers.Challenge();
        mock.When(Url).With(r => !Answers.HasCredential(r)).Respond(_ => Answers.PaymentRequired(current));
        mock.When(Url).With(Answers.HasCredential).Respond(r =>
        {
            lock (sent)
            {
                sent.Add(r);
            }

            return paid?.Invoke(r) ?? Answers.Paid(PaymentCredential.Parse(r.Headers.GetValues("Authorization").First()).Challenge);
        });
        mock.Fallback.Throw(new InvalidOperationException("unexpected request"));
        return mock;
    }

    [Test]
    public async Task A_response_other_than_402_passes_through_untouched()
    {
        var mock = new MockHttpMessageHandler();
        mock.When(Url).Respond(HttpStatusCode.OK, "text/plain", "free");
        using var harness = PaymentHarness.Create(primary: mock);

        using var response = await harness.Client.GetAsync(Url);

        Assert.That(await response.Content.ReadAsStringAsync(), Is.EqualTo("free"));
        Assert.That(response.GetPaymentDetails(), Is.Null);
        Assert.That(harness.Method.Signatures, Is.Zero);
    }

    [Test]
    public async Task A_402_is_paid_once_and_the_receipt_journal_and_ledger_say_so()
    {
        using var harness = PaymentHarness.Create(primary: Server(out var paid));

        using var response = await harness.Client.GetAsync(Url);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        var details = response.GetPaymentDetails()!;
        Assert.Multiple(async () =>
        {
            Assert.That(paid, Has.Count.EqualTo(1));
            Assert.That(harness.Method.Signatures, Is.EqualTo(1));
            Assert.That(details.IsPaid, Is.True);
            Assert.That(details.Rounds, Is.EqualTo(1));
            Assert.That(details.AmountPaid, Is.EqualTo(new AssetAmount(TestChargeMethod.Coin.Id, 100)));
            Assert.That(details.Method, Is.EqualTo("test"));
            Assert.That(response.GetPaymentReceipt()!.Reference, Does.StartWith("ref-"));
            Assert.That((await harness.SpentAsync()).Committed, Is.EqualTo(new System.Numerics.BigInteger(100)));
            var journal = await harness.Journal.GetAllAsync(CancellationToken.None);
            Assert.That(journal.Single().State, Is.EqualTo(JournalState.Settled));
            Assert.That(journal.Single().CredentialDigest, Has.Length.EqualTo(64));
            Assert.That((await harness.Receipts.GetAllAsync(CancellationToken.None)).Single().Reference, Is.EqualTo(response.GetPaymentReceipt()!.Reference));
            Assert.That(harness.Method.Settlements.Single().Outcome, Is.EqualTo(PaymentOutcome.Settled));
        });
    }

    [Test]
    public async Task A_challenge_asking_for_payment_authorization_gets_it_there_and_keeps_the_bearer_token()
    {
        var mock = new MockHttpMessageHandler();
        var challenge = Answers.Challenge(header: "Payment-Authorization");
        HttpRequestMessage? seen = null;
        mock.When(Url).With(r => !r.Headers.Contains("Payment-Authorization")).Respond(_ => Answers.PaymentRequired(challenge));
        mock.When(Url).Respond(r =>
        {
            seen = r;
            return Answers.Paid(challenge);
        });
        using var harness = PaymentHarness.Create(primary: mock);
        using var request = new HttpRequestMessage(HttpMethod.Get, Url);
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "user-token");

        using var response = await harness.Client.SendAsync(request);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(seen!.Headers.Authorization!.ToString(), Is.EqualTo("Bearer user-token"));
        Assert.That(seen.Headers.GetValues("Payment-Authorization").Single(), Does.StartWith("Payment "));
    }

    [Test]
    public async Task A_server_that_answers_402_forever_gets_at_most_max_payment_rounds_credentials_each_for_a_new_challenge()
    {
        var mock = new MockHttpMessageHandler();
        var credentials = new List<string>();
        mock.When(Url).Respond(r =>
        {
            if (r.Headers.TryGetValues("Authorization", out var values))
            {
                credentials.Add(PaymentCredential.Parse(values.Single()).Challenge.Id);
            }

            return Answers.PaymentRequired(PaymentProblemTypes.InvalidChallenge, Answers.Challenge());
        });
        using var harness = PaymentHarness.Create(o => o.MaxPaymentRounds = 3, primary: mock);

        var ex = Assert.ThrowsAsync<PaymentRejectedException>(() => harness.Client.GetAsync(Url));

        Assert.That(credentials, Has.Count.EqualTo(3));
        Assert.That(credentials.Distinct().Count(), Is.EqualTo(3));
        Assert.That(ex!.Problem!.Type, Is.EqualTo(PaymentProblemTypes.InvalidChallenge));
        Assert.That(ex.Details!.Rounds, Is.EqualTo(3));
        Assert.That((await harness.SpentAsync()).Unknown, Is.EqualTo(new System.Numerics.BigInteger(300)), "refused credentials stay counted");
    }

    [Test]
    public void The_same_charge_challenge_is_never_paid_twice()
    {
        var mock = new MockHttpMessageHandler();
        var challenge = Answers.Challenge();
        var paid = 0;
        mock.When(Url).Respond(r =>
        {
            if (Answers.HasCredential(r))
            {
                paid++;
            }

            return Answers.PaymentRequired(PaymentProblemTypes.InvalidChallenge, challenge); // the same id again
        });
        using var harness = PaymentHarness.Create(primary: mock);

        var ex = Assert.ThrowsAsync<PaymentRejectedException>(() => harness.Client.GetAsync(Url));

        Assert.That(paid, Is.EqualTo(1));
        Assert.That(ex!.Details!.Refusals.Single().Rule, Is.EqualTo("challenge.already-paid"));
    }

    [TestCase(PaymentProblemTypes.MalformedCredential)]
    [TestCase(PaymentProblemTypes.InvalidPayload)]
    [TestCase(PaymentProblemTypes.PaymentInsufficient)]
    public void A_refusal_that_paying_again_cannot_fix_ends_the_call_after_one_credential(string problem)
    {
        var mock = new MockHttpMessageHandler();
        var paid = 0;
        mock.When(Url).Respond(r =>
        {
            paid += Answers.HasCredential(r) ? 1 : 0;
            return Answers.PaymentRequired(paid == 0 ? PaymentProblemTypes.PaymentRequired : problem, Answers.Challenge());
        });
        using var harness = PaymentHarness.Create(primary: mock);

        var ex = Assert.ThrowsAsync<PaymentRejectedException>(() => harness.Client.GetAsync(Url));

        Assert.That(paid, Is.EqualTo(1));
        Assert.That(ex!.Problem!.Type, Is.EqualTo(problem));
    }

    [TestCase("700", "budget.per-request")]
    [TestCase("99999999999999999999999999999999999999", "budget.per-request")]
    public async Task An_absurd_amount_is_denied_without_signing(string amount, string rule)
    {
        using var harness = PaymentHarness.Create(primary: Server(out var paid, challenge: Answers.Challenge(amount: amount)));

        using var response = await harness.Client.GetAsync(Url);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.PaymentRequired));
        Assert.That(response.GetPaymentDetails()!.Refusals.Single().Rule, Is.EqualTo(rule));
        Assert.That(harness.Method.Signatures, Is.Zero);
        Assert.That(paid, Is.Empty);
    }

    [Test]
    public async Task An_asset_without_a_budget_limit_is_denied_without_signing()
    {
        using var harness = PaymentHarness.Create(primary: Server(out _, challenge: Answers.Challenge(currency: "eur")));

        using var response = await harness.Client.GetAsync(Url);

        Assert.That(response.GetPaymentDetails()!.Refusals.Single().Rule, Is.EqualTo("budget.no-limit"));
        Assert.That(harness.Method.Signatures, Is.Zero);
    }

    [Test]
    public async Task An_unknown_recipient_is_denied_without_signing()
    {
        using var harness = PaymentHarness.Create(o => o.AllowedRecipients.Add("merchant-1"), primary: Server(out _, challenge: Answers.Challenge(recipient: "attacker")));

        using var response = await harness.Client.GetAsync(Url);

        Assert.That(response.GetPaymentDetails()!.Refusals.Single().Rule, Is.EqualTo("policy.recipient"));
        Assert.That(harness.Method.Signatures, Is.Zero);
    }

    [Test]
    public async Task An_expired_challenge_or_one_expiring_within_the_margin_is_denied_without_signing()
    {
        using var harness = PaymentHarness.Create(o => o.ExpiryMargin = TimeSpan.FromSeconds(30), primary: Server(out _, challenge: Answers.Challenge(expiresIn: TimeSpan.FromSeconds(10))));

        using var response = await harness.Client.GetAsync(Url);

        Assert.That(response.GetPaymentDetails()!.Refusals.Single().Rule, Is.EqualTo("policy.expired"));
        Assert.That(harness.Method.Signatures, Is.Zero);
    }

    [TestCase("other.example.com", null, null, "policy.host")]
    [TestCase(null, "stripe", null, "policy.method")]
    [TestCase(null, null, 1337L, "policy.chain")]
    public async Task Allow_lists_deny_what_they_do_not_name(string? host, string? method, long? chain, string rule)
    {
        using var harness = PaymentHarness.Create(
            o =>
            {
                if (host is not null)
                {
                    o.AllowedHosts.Add(host);
                }

                if (method is not null)
                {
                    o.AllowedMethods.Add(method);
                }

                if (chain is { } c)
                {
                    o.AllowedChainIds.Add(c);
                }
            },
            primary: Server(out _));

        using var response = await harness.Client.GetAsync(Url);

        Assert.That(response.GetPaymentDetails()!.Refusals.Single().Rule, Is.EqualTo(rule));
        Assert.That(harness.Method.Signatures, Is.Zero);
    }

    [Test]
    public async Task A_wildcard_host_allows_subdomains_only()
    {
        using var harness = PaymentHarness.Create(o => o.AllowedHosts.Add("*.example.com"), primary: Server(out _));

        using var response = await harness.Client.GetAsync(Url);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    public void Throw_when_unpayable_raises_the_denial_with_its_rule()
    {
        using var harness = PaymentHarness.Create(o => o.ThrowWhenUnpayable = true, primary: Server(out _, challenge: Answers.Challenge(amount: "501")));

        var ex = Assert.ThrowsAsync<PaymentDeniedException>(() => harness.Client.GetAsync(Url));

        Assert.That(ex!.Rule, Is.EqualTo("budget.per-request"));
        Assert.That(ex, Is.Not.InstanceOf<HttpRequestException>());
    }

    [Test]
    public async Task A_challenge_no_method_can_pay_is_returned_with_the_reason()
    {
        using var harness = PaymentHarness.Create(primary: Server(out _, challenge: Answers.Challenge(method: "lightning")));

        using var response = await harness.Client.GetAsync(Url);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.PaymentRequired));
        Assert.That(response.GetPaymentDetails()!.Refusals.Single().Rule, Is.EqualTo("method.unsupported"));
    }

    [Test]
    public async Task A_402_without_a_payment_challenge_is_not_ours_and_passes_through()
    {
        var mock = new MockHttpMessageHandler();
        mock.When(Url).Respond(_ =>
        {
            var response = new HttpResponseMessage(HttpStatusCode.PaymentRequired);
            response.Headers.TryAddWithoutValidation("WWW-Authenticate", "Bearer realm=\"x402\"");
            return response;
        });
        using var harness = PaymentHarness.Create(primary: mock);

        using var answer = await harness.Client.GetAsync(Url);

        Assert.That(answer.StatusCode, Is.EqualTo(HttpStatusCode.PaymentRequired));
        Assert.That(answer.GetPaymentDetails(), Is.Null);
    }

    [Test]
    public async Task The_approver_is_asked_and_its_refusal_stops_the_payment()
    {
        var approver = new ScriptedApprover(false);
        using var harness = PaymentHarness.Create(o => o.RequireApproval = true, primary: Server(out _), mpp: b => b.UseApprover(approver));

        using var response = await harness.Client.GetAsync(Url);

        Assert.That(approver.Asked, Is.EqualTo(1));
        Assert.That(response.GetPaymentDetails()!.Refusals.Single().Rule, Is.EqualTo("approval.denied"));
        Assert.That(harness.Method.Signatures, Is.Zero);
    }

    [Test]
    public async Task An_approved_payment_is_made()
    {
        var approver = new ScriptedApprover(true);
        using var harness = PaymentHarness.Create(o => o.RequireApproval = true, primary: Server(out _), mpp: b => b.UseApprover(approver));

        using var response = await harness.Client.GetAsync(Url);

        Assert.That(approver.Asked, Is.EqualTo(1));
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    public async Task Approval_required_without_an_approver_refuses()
    {
        using var harness = PaymentHarness.Create(o => o.RequireApproval = true, primary: Server(out _));

        using var response = await harness.Client.GetAsync(Url);

        Assert.That(response.GetPaymentDetails()!.Refusals.Single().Rule, Is.EqualTo("approval.unavailable"));
    }

    [Test]
    public void Cancelling_while_the_approver_thinks_cancels_the_call_and_pays_nothing()
    {
        var approver = new ScriptedApprover(true) { Delay = TimeSpan.FromMinutes(5) };
        using var harness = PaymentHarness.Create(o => o.RequireApproval = true, primary: Server(out var paid), mpp: b => b.UseApprover(approver));
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));

        Assert.CatchAsync<OperationCanceledException>(() => harness.Client.GetAsync(Url, cts.Token));
        Assert.That(paid, Is.Empty);
    }

    [Test]
    public async Task A_custom_policy_can_deny()
    {
        using var harness = PaymentHarness.Create(primary: Server(out _), mpp: b => b.AddPolicy(new DenyAllPolicy()));

        using var response = await harness.Client.GetAsync(Url);

        Assert.That(response.GetPaymentDetails()!.Refusals.Single().Rule, Is.EqualTo("custom.deny"));
    }

    [Test]
    public async Task A_dry_run_returns_the_402_with_the_quote_and_signs_nothing()
    {
        using var harness = PaymentHarness.Create(o => o.DryRun = true, primary: Server(out var paid));

        using var response = await harness.Client.GetAsync(Url);

        var details = response.GetPaymentDetails()!;
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.PaymentRequired));
        Assert.That(details.IsDryRun, Is.True);
        Assert.That(details.Quote!.Amount.Units, Is.EqualTo(new System.Numerics.BigInteger(100)));
        Assert.That(details.AmountPaid, Is.Null);
        Assert.That(harness.Method.Signatures, Is.Zero);
        Assert.That(paid, Is.Empty);
    }

    [Test]
    public async Task A_dry_run_can_be_asked_for_one_request()
    {
        using var harness = PaymentHarness.Create(primary: Server(out var paid));
        using var request = new HttpRequestMessage(HttpMethod.Get, Url).WithPaymentDryRun();

        using var response = await harness.Client.SendAsync(request);

        Assert.That(response.GetPaymentDetails()!.IsDryRun, Is.True);
        Assert.That(paid, Is.Empty);
    }

    [Test]
    public async Task A_request_marked_without_payment_gets_the_402_untouched()
    {
        using var harness = PaymentHarness.Create(primary: Server(out var paid));
        using var request = new HttpRequestMessage(HttpMethod.Get, Url).WithoutPayment();

        using var response = await harness.Client.SendAsync(request);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.PaymentRequired));
        Assert.That(response.GetPaymentDetails(), Is.Null);
        Assert.That(paid, Is.Empty);
    }

    [Test]
    public async Task The_budget_refuses_once_its_total_is_reached()
    {
        using var harness = PaymentHarness.Create(o => { o.Budget.Limits.Clear(); o.Budget.Limit(TestChargeMethod.Coin, total: 2.5m); }, primary: Server(out var paid));

        for (var i = 0; i < 2; i++)
        {
            using var ok = await harness.Client.GetAsync(Url);
            Assert.That(ok.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        }

        using var refused = await harness.Client.GetAsync(Url);

        Assert.That(refused.GetPaymentDetails()!.Refusals.Single().Rule, Is.EqualTo("budget.total"));
        Assert.That(paid, Has.Count.EqualTo(2));
    }

    [Test]
    public async Task A_post_gets_one_idempotency_key_kept_across_rounds_and_a_get_gets_none()
    {
        var mock = new MockHttpMessageHandler();
        var keys = new List<string?>();
        mock.When(Url).Respond(r =>
        {
            if (Answers.HasCredential(r))
            {
                keys.Add(r.Headers.TryGetValues("Idempotency-Key", out var k) ? k.Single() : null);
                return keys.Count < 2 ? Answers.PaymentRequired(PaymentProblemTypes.PaymentExpired, Answers.Challenge()) : Answers.Paid(PaymentCredential.Parse(r.Headers.GetValues("Authorization").Single()).Challenge);
            }

            return Answers.PaymentRequired(Answers.Challenge());
        });
        using var harness = PaymentHarness.Create(primary: mock);

        using var post = await harness.Client.PostAsync(Url, new StringContent("{}"));
        using var get = await harness.Client.GetAsync(Url);

        Assert.That(post.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(keys.Take(2).Distinct().Single(), Is.Not.Null.And.Length.EqualTo(32));
        Assert.That(keys[2], Is.Null);
    }

    [Test]
    public async Task The_callers_own_idempotency_key_is_kept()
    {
        var mock = Server(out var paid);
        using var harness = PaymentHarness.Create(primary: mock);
        using var request = new HttpRequestMessage(HttpMethod.Post, Url) { Content = new StringContent("x") };
        request.Headers.Add("Idempotency-Key", "caller-key");

        using var response = await harness.Client.SendAsync(request);

        Assert.That(paid.Single().Headers.GetValues("Idempotency-Key").Single(), Is.EqualTo("caller-key"));
    }

    [TestCase("http://api.example.com/paid", true)]
    [TestCase("http://127.0.0.1:9/paid", false)]
    public async Task Credentials_never_go_over_plain_http_except_to_loopback_when_allowed(string url, bool allowLoopback)
    {
        var mock = new MockHttpMessageHandler();
        var paid = 0;
        mock.When(url).Respond(r =>
        {
            paid += Answers.HasCredential(r) ? 1 : 0;
            return Answers.PaymentRequired(Answers.Challenge(origin: url));
        });
        using var harness = PaymentHarness.Create(o => o.AllowInsecureLoopback = allowLoopback, primary: mock);

        using var response = await harness.Client.GetAsync(url);

        Assert.That(response.GetPaymentDetails()!.Refusals.Single().Rule, Is.EqualTo("transport.insecure"));
        Assert.That(paid, Is.Zero);
        Assert.That(harness.Method.Signatures, Is.Zero);
    }

    [Test]
    public async Task A_402_reached_through_a_redirect_to_another_origin_is_not_paid()
    {
        var mock = new MockHttpMessageHandler();
        var credentialsSeen = 0;
        mock.When(Url).Respond(_ =>
        {
            var redirect = new HttpResponseMessage(HttpStatusCode.Found);
            redirect.Headers.Location = new Uri("https://evil.example.net/paid");
            return redirect;
        });
        mock.When("https://evil.example.net/paid").Respond(r =>
        {
            credentialsSeen += Answers.HasCredential(r) ? 1 : 0;
            return Answers.PaymentRequired(Answers.Challenge(origin: "https://evil.example.net"));
        });
        using var harness = PaymentHarness.Create(primary: mock);

        using var response = await harness.Client.GetAsync(Url);

        Assert.That(response.GetPaymentDetails()!.Refusals.Single().Rule, Is.EqualTo("origin.changed"));
        Assert.That(credentialsSeen, Is.Zero);
        Assert.That(harness.Method.Signatures, Is.Zero);
    }

    [Test]
    public async Task A_paid_request_redirected_to_another_origin_loses_its_credential_and_cookie()
    {
        var mock = new MockHttpMessageHandler();
        HttpRequestMessage? atOtherOrigin = null;
        mock.When(Url).With(r => !Answers.HasCredential(r)).Respond(_ => Answers.PaymentRequired(Answers.Challenge()));
        mock.When(Url).Respond(_ =>
        {
            var redirect = new HttpResponseMessage(HttpStatusCode.TemporaryRedirect);
            redirect.Headers.Location = new Uri("https://cdn.example.net/resource");
            return redirect;
        });
        mock.When("https://cdn.example.net/resource").Respond(r =>
        {
            atOtherOrigin = r;
            return new HttpResponseMessage(HttpStatusCode.OK);
        });
        using var harness = PaymentHarness.Create(primary: mock);
        using var request = new HttpRequestMessage(HttpMethod.Get, Url);
        request.Headers.Add("Cookie", "session=secret");
        request.Headers.Add("X-Trace", "kept");

        using var response = await harness.Client.SendAsync(request);

        Assert.That(atOtherOrigin, Is.Not.Null);
        Assert.That(Answers.HasCredential(atOtherOrigin!), Is.False);
        Assert.That(atOtherOrigin!.Headers.Contains("Cookie"), Is.False);
        Assert.That(atOtherOrigin.Headers.GetValues("X-Trace").Single(), Is.EqualTo("kept"));
    }

    [Test]
    public async Task A_streamed_body_is_sent_once_and_its_402_is_returned_with_the_reason()
    {
        var mock = new MockHttpMessageHandler();
        var sends = 0;
        mock.When(Url).Respond(_ =>
        {
            sends++;
            return Answers.PaymentRequired(Answers.Challenge());
        });
        using var harness = PaymentHarness.Create(primary: mock);
        using var body = new StreamContent(new NonSeekableStream(new byte[1000]));

        using var response = await harness.Client.PostAsync(Url, body);

        Assert.That(sends, Is.EqualTo(1));
        Assert.That(response.GetPaymentDetails()!.Refusals.Single().Rule, Is.EqualTo("request.body-not-replayable"));
        Assert.That(harness.Method.Signatures, Is.Zero);
    }

    [Test]
    public async Task A_body_over_the_buffer_limit_is_not_replayed()
    {
        var mock = Server(out var paid);
        using var harness = PaymentHarness.Create(o => o.MaxBufferedRequestBytes = 10, primary: mock);

        using var response = await harness.Client.PostAsync(Url, new StreamContent(new MemoryStream(new byte[11])));

        Assert.That(response.GetPaymentDetails()!.Refusals.Single().Rule, Is.EqualTo("request.body-not-replayable"));
        Assert.That(paid, Is.Empty);
    }

    [Test]
    public async Task A_lost_answer_after_the_credential_left_is_an_unknown_outcome_with_the_reservation_kept()
    {
        var mock = new MockHttpMessageHandler();
        mock.When(Url).With(r => !Answers.HasCredential(r)).Respond(_ => Answers.PaymentRequired(Answers.Challenge()));
        mock.When(Url).Throw(new HttpRequestException("connection reset"));
        using var harness = PaymentHarness.Create(primary: mock);

        var ex = Assert.ThrowsAsync<PaymentOutcomeUnknownException>(() => harness.Client.GetAsync(Url));

        Assert.That(ex, Is.Not.InstanceOf<HttpRequestException>());
        Assert.That(harness.Method.Signatures, Is.EqualTo(1));
        Assert.That((await harness.SpentAsync()).Unknown, Is.EqualTo(new System.Numerics.BigInteger(100)));
        var entry = (await harness.Journal.GetAllAsync(CancellationToken.None)).Single();
        Assert.That(entry.Id, Is.EqualTo(ex!.JournalEntryId));
        Assert.That(entry.State, Is.EqualTo(JournalState.Unknown));
    }

    [Test]
    public async Task A_method_that_fails_before_anything_left_gets_its_reservation_released()
    {
        using var harness = PaymentHarness.Create(primary: Server(out var paid));
        harness.Method.FailWith = new InvalidOperationException("wallet locked");

        Assert.ThrowsAsync<InvalidOperationException>(() => harness.Client.GetAsync(Url));

        Assert.That((await harness.SpentAsync()).Total, Is.EqualTo(System.Numerics.BigInteger.Zero));
        Assert.That(paid, Is.Empty);
    }

    [Test]
    public async Task A_403_after_paying_is_settled_and_not_paid_again()
    {
        using var harness = PaymentHarness.Create(primary: Server(out var paid, paid: _ => new HttpResponseMessage(HttpStatusCode.Forbidden)));

        using var response = await harness.Client.GetAsync(Url);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
        Assert.That(response.GetPaymentDetails()!.Outcome, Is.EqualTo(PaymentOutcome.Settled));
        Assert.That(paid, Has.Count.EqualTo(1));
        Assert.That((await harness.SpentAsync()).Committed, Is.EqualTo(new System.Numerics.BigInteger(100)));
    }

    [Test]
    public async Task A_server_error_after_paying_is_an_unknown_outcome_returned_to_the_caller()
    {
        using var harness = PaymentHarness.Create(primary: Server(out var paid, paid: _ => new HttpResponseMessage(HttpStatusCode.BadGateway)));

        using var response = await harness.Client.GetAsync(Url);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadGateway));
        Assert.That(response.GetPaymentDetails()!.Outcome, Is.EqualTo(PaymentOutcome.Unknown));
        Assert.That((await harness.SpentAsync()).Unknown, Is.EqualTo(new System.Numerics.BigInteger(100)));
    }

    [Test]
    public async Task An_mpp_server_error_after_paying_is_a_typed_rejection_with_the_money_kept_counted()
    {
        using var harness = PaymentHarness.Create(primary: Server(out var paid, paid: _ => new HttpResponseMessage(HttpStatusCode.InternalServerError)
        {
            Content = new StringContent($$"""{"type":"{{PaymentProblemTypes.InternalPaymentError}}","title":"Internal Payment Error","status":500}""", System.Text.Encoding.UTF8, PaymentProblem.MediaType),
        }));

        var ex = Assert.ThrowsAsync<PaymentRejectedException>(() => harness.Client.GetAsync(Url));

        Assert.That(ex!.StatusCode, Is.EqualTo(500));
        Assert.That(ex.Problem!.Type, Is.EqualTo(PaymentProblemTypes.InternalPaymentError));
        Assert.That(ex.Details!.Outcome, Is.EqualTo(PaymentOutcome.Unknown));
        Assert.That(paid, Has.Count.EqualTo(1));
        Assert.That((await harness.SpentAsync()).Unknown, Is.EqualTo(new System.Numerics.BigInteger(100)));
    }

    [Test]
    public async Task A_receipt_naming_another_challenge_is_not_trusted()
    {
        using var harness = PaymentHarness.Create(primary: Server(out _, paid: _ => Answers.Paid(Answers.Challenge())));

        using var response = await harness.Client.GetAsync(Url);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(response.GetPaymentReceipt(), Is.Null);
        Assert.That(harness.Logs.Lines, Has.Some.Contains("names another challenge"));
    }

    [Test]
    public async Task A_transient_retry_registered_after_payments_resends_the_same_credential_and_signs_once()
    {
        var mock = new MockHttpMessageHandler();
        var credentials = new List<string>();
        mock.When(Url).Respond(r =>
        {
            if (!r.Headers.TryGetValues("Authorization", out var values))
            {
                return Answers.PaymentRequired(Answers.Challenge());
            }

            credentials.Add(values.Single());
            return credentials.Count < 3 ? new HttpResponseMessage(HttpStatusCode.ServiceUnavailable) : Answers.Paid(PaymentCredential.Parse(values.Single()).Challenge);
        });
        using var harness = PaymentHarness.Create(primary: mock, afterPayments: b => b.AddHttpMessageHandler(() => new RetryOn503Handler(3)));

        using var response = await harness.Client.GetAsync(Url);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(harness.Method.Signatures, Is.EqualTo(1));
        Assert.That(credentials, Has.Count.EqualTo(3));
        Assert.That(credentials.Distinct().Count(), Is.EqualTo(1));
    }

    [Test]
    public async Task Among_several_challenges_the_preferred_then_cheapest_is_paid()
    {
        var mock = new MockHttpMessageHandler();
        var cheap = Answers.Challenge(amount: "50");
        var dear = Answers.Challenge(amount: "300");
        var lightning = Answers.Challenge(method: "lightning");
        string? paidId = null;
        mock.When(Url).Respond(r =>
        {
            if (r.Headers.TryGetValues("Authorization", out var v))
            {
                paidId = PaymentCredential.Parse(v.Single()).Challenge.Id;
                return Answers.Paid(PaymentCredential.Parse(v.Single()).Challenge);
            }

            return Answers.PaymentRequired(lightning, dear, cheap);
        });
        using var harness = PaymentHarness.Create(o => o.PreferredMethods.Add("test/charge"), primary: mock);

        using var response = await harness.Client.GetAsync(Url);

        Assert.That(paidId, Is.EqualTo(cheap.Id));
        Assert.That(response.GetPaymentDetails()!.Refusals.Single().Rule, Is.EqualTo("method.unsupported"));
    }

    [Test]
    public void The_synchronous_send_is_refused()
    {
        using var harness = PaymentHarness.Create(primary: Server(out _));

        Assert.Throws<NotSupportedException>(() => harness.Client.Send(new HttpRequestMessage(HttpMethod.Get, Url)));
    }

    private sealed class ScriptedApprover(bool answer) : IPaymentApprover
    {
        public int Asked;

        public TimeSpan Delay { get; init; }

        public async ValueTask<bool> ApproveAsync(PaymentQuote quote, PaymentContext context, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref Asked);
            await Task.Delay(Delay, cancellationToken);
            return answer;
        }
    }

    private sealed class DenyAllPolicy : IPaymentPolicy
    {
        public ValueTask<PaymentDecision> EvaluateAsync(PaymentQuote quote, PaymentContext context, CancellationToken cancellationToken)
            => ValueTask.FromResult(PaymentDecision.Deny("custom.deny", "no"));
    }
}

/// <summary>A naive transient-retry handler (what a Polly pipeline does): resends the same request on 503.</summary>
internal sealed class RetryOn503Handler(int attempts) : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var response = await base.SendAsync(request, cancellationToken);
            if (response.StatusCode != HttpStatusCode.ServiceUnavailable || attempt == attempts)
            {
                return response;
            }

            response.Dispose();
        }
    }
}

/// <summary>A stream that can be read once, forward only, with no length.</summary>
internal sealed class NonSeekableStream(byte[] data) : MemoryStream(data)
{
    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
}
