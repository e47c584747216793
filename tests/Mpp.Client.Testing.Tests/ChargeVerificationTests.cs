using System.Net;
using System.Numerics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Mpp.Client.Protocol;
using Mpp.Client.Tempo;

namespace Mpp.Client.Testing.Tests;

/// <summary>Charge verification with credentials made by the real client, replayed or altered by the test.</summary>
public sealed class ChargeVerificationTests
{
    [Test]
    public async Task A_replayed_credential_is_refused_and_pays_nothing_twice()
    {
        await using var server = MppTestServer.CreateInMemory(o => o.Routes["/paid"] = TestRoute.Charge(0.01m));
        var payer = server.CreateFundedAccount(1m);
        var credential = await SignChargeAsync(server, payer, server.Payments.IssueChallenge(server.Routes["/paid"]), TimeProvider.System);
        using var raw = new HttpClient(server.CreateHandler()) { BaseAddress = server.BaseAddress };
        var statuses = new List<HttpStatusCode>();
        string? problem = null;
        for (var i = 0; i < 2; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("/paid", UriKind.Relative));
            request.Headers.TryAddWithoutValidation("Authorization", credential.ToHeaderValue());
            using var answer = await raw.SendAsync(request);
            statuses.Add(answer.StatusCode);
            if (answer.StatusCode == HttpStatusCode.PaymentRequired)
            {
                problem = await Problem(answer);
                Assert.That(answer.Headers.WwwAuthenticate.ToString(), Does.StartWith("Payment "), "a refusal carries a fresh challenge");
            }
        }

        Assert.That(statuses, Is.EqualTo(new[] { HttpStatusCode.OK, HttpStatusCode.PaymentRequired }));
        Assert.That(problem, Is.EqualTo(PaymentProblemTypes.InvalidChallenge));
        Assert.That(server.Ledger.Payments, Has.Count.EqualTo(1));
        Assert.That(server.Ledger.BalanceOf(server.Payee), Is.EqualTo(new BigInteger(10_000)));
    }

    [Test]
    public async Task An_expired_challenge_is_refused_with_payment_expired()
    {
        var clock = new ManualClock(DateTimeOffset.Parse("2026-03-01T12:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        await using var server = MppTestServer.CreateInMemory(o =>
        {
            o.TimeProvider = clock;
            o.Routes["/paid"] = TestRoute.Charge(0.01m) with { ExpiresIn = TimeSpan.FromSeconds(30) };
        });
        var payer = server.CreateFundedAccount(1m);
        var challenge = server.Payments.IssueChallenge(server.Routes["/paid"]);
        var credential = await SignChargeAsync(server, payer, challenge, clock);
        clock.Advance(TimeSpan.FromMinutes(1));

        var verdict = await server.Payments.VerifyAsync(credential, server.Routes["/paid"]);

        Assert.That(verdict.Succeeded, Is.False);
        Assert.That(verdict.Problem!.Type, Is.EqualTo(PaymentProblemTypes.PaymentExpired));
        Assert.That(server.Ledger.Payments, Is.Empty);
    }

    [Test]
    public async Task A_transfer_to_another_recipient_or_of_another_amount_is_refused()
    {
        await using var server = MppTestServer.CreateInMemory(o => o.Routes["/paid"] = TestRoute.Charge(0.05m));
        var payer = server.CreateFundedAccount(1m);
        var route = server.Routes["/paid"];
        var thief = server.CreateFundedAccount(0m).Address;

        var wrongRecipient = await SignChargeAsync(server, payer, server.Payments.IssueChallenge(route), TimeProvider.System, recipient: thief);
        var lessMoney = await SignChargeAsync(server, payer, server.Payments.IssueChallenge(route), TimeProvider.System, amount: 1);
        var cheaperChallenge = await SignChargeAsync(server, payer, server.Payments.IssueChallenge(route with { Amount = 1 }), TimeProvider.System, amount: 1);

        Assert.That((await server.Payments.VerifyAsync(wrongRecipient, route)).Problem!.Type, Is.EqualTo(PaymentProblemTypes.VerificationFailed));
        Assert.That((await server.Payments.VerifyAsync(lessMoney, route)).Problem!.Type, Is.EqualTo(PaymentProblemTypes.VerificationFailed));
        Assert.That((await server.Payments.VerifyAsync(cheaperChallenge, route)).Problem!.Type, Is.EqualTo(PaymentProblemTypes.InvalidChallenge), "a challenge of a cheaper route does not pay this one");
        Assert.That(server.Ledger.BalanceOf(payer.Address), Is.EqualTo(new BigInteger(1_000_000)));
    }

    [Test]
    public async Task A_scope_bound_in_opaque_must_match_at_verification()
    {
        await using var server = MppTestServer.CreateInMemory();
        var payer = server.CreateFundedAccount(1m);
        var route = TestRoute.Charge(0.01m);
        var challenge = server.Payments.IssueChallenge(route, "tools/call:weather");
        Assert.That(challenge.Opaque, Is.Not.Null);

        var credential = await SignChargeAsync(server, payer, challenge, TimeProvider.System);
        Assert.That((await server.Payments.VerifyAsync(credential, route, "tools/call:stocks")).Problem!.Type, Is.EqualTo(PaymentProblemTypes.InvalidChallenge));
        var verdict = await server.Payments.VerifyAsync(credential, route, "tools/call:weather");
        Assert.That(verdict.Succeeded, Is.True, verdict.Problem?.Detail);
        Assert.That(verdict.Receipt!.Reference, Is.EqualTo(server.Ledger.Payments.Single().TransactionHash));
    }

    /// <summary>Builds a charge credential with the real charge method, optionally altering the transfer before signing.</summary>
    internal static async Task<PaymentCredential> SignChargeAsync(MppTestServer server, TestDevAccount payer, PaymentChallenge challenge, TimeProvider clock, string? recipient = null, BigInteger? amount = null)
    {
        var altered = challenge;
        if (recipient is not null || amount is not null)
        {
            // Sign for a doctored copy of the request, then put the genuine challenge back: the transfer no longer matches it.
            var request = JsonNode.Parse(challenge.Request.GetRawText())!.AsObject();
            request["recipient"] = recipient ?? request["recipient"]!.GetValue<string>();
            request["amount"] = (amount ?? BigInteger.Parse(request["amount"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture)).ToString(System.Globalization.CultureInfo.InvariantCulture);
            using var doc = JsonDocument.Parse(request.ToJsonString());
            altered = PaymentChallenge.Create(challenge.Id, challenge.Realm, challenge.Method, challenge.Intent, doc.RootElement, challenge.ExpiresText, opaque: challenge.Opaque);
        }

        using var http = new HttpClient(server.CreateHandler());
        var options = new TempoOptions { Signer = payer.CreateSigner(), RpcUrl = server.RpcUrl, ChainId = server.ChainId, RpcRetries = 0 };
        var method = new Mpp.Client.Tempo.Charge.TempoChargeMethod(options, http, clock);
        var context = new PaymentContext("test", HttpMethod.Get, server.Url("/paid"), 1);
        var quote = await method.QuoteAsync(altered, context, default);
        var signed = await method.CreateCredentialAsync(quote, context, default);
        return new PaymentCredential(challenge, signed.Payload, signed.Source);
    }

    internal static async Task<string?> Problem(HttpResponseMessage response)
        => JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("type").GetString();
}
