using System.Net;
using System.Numerics;

namespace Mpp.Client.Testing.Tests;

/// <summary>Tempo charge end to end: MppClient's real charge method pays the kit over loopback Kestrel and in memory, with the emulated chain RPC.</summary>
[TestFixture(false)]
[TestFixture(true)]
public sealed class ChargeEndToEndTests(bool inMemory)
{
    [Test]
    public async Task A_paid_call_lands_on_the_ledger_debiting_the_payer_and_crediting_the_recipient()
    {
        await using var server = await Kit.StartAsync(inMemory, o => o.Routes["/paid"] = TestRoute.Charge(0.01m, "one call"));
        var payer = server.CreateFundedAccount(5m);
        await using var services = Kit.Client(server, payer);

        using var response = await services.Paid().GetAsync(new Uri("/paid", UriKind.Relative));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), await response.Content.ReadAsStringAsync());
        Assert.That(await response.Content.ReadAsStringAsync(), Is.EqualTo("paid"));
        var receipt = response.GetPaymentReceipt();
        Assert.That(receipt, Is.Not.Null);
        var payment = server.Ledger.Payments.Single();
        Assert.That(receipt!.Reference, Is.EqualTo(payment.TransactionHash));
        Assert.That(payment.Amount, Is.EqualTo(new BigInteger(10_000)));
        Assert.That(payment.Payer, Is.EqualTo(payer.Address));
        Assert.That(server.Ledger.BalanceOf(payer.Address), Is.EqualTo(new BigInteger(4_990_000)), "gas is free on the test chain: exactly the price left the payer");
        Assert.That(server.Ledger.BalanceOf(server.Payee), Is.EqualTo(new BigInteger(10_000)));
        Assert.That(server.RpcCallCount, Is.GreaterThan(0), "the client filled and checked the transaction through the emulated RPC");
    }

    [Test]
    public async Task Several_calls_pay_one_challenge_each_and_the_ledger_adds_up()
    {
        await using var server = await Kit.StartAsync(inMemory, o => o.Routes["/paid"] = TestRoute.ChargeUnits(1234));
        var payer = server.CreateFundedAccount(1m);
        await using var services = Kit.Client(server, payer);
        for (var i = 0; i < 3; i++)
        {
            using var response = await services.Paid().GetAsync(new Uri("/paid", UriKind.Relative));
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        }

        Assert.That(server.Ledger.Payments.Select(p => p.ChallengeId).Distinct().Count(), Is.EqualTo(3));
        Assert.That(server.Ledger.BalanceOf(server.Payee), Is.EqualTo(new BigInteger(3 * 1234)));
        Assert.That(server.Ledger.BalanceOf(payer.Address), Is.EqualTo(new BigInteger(1_000_000 - (3 * 1234))));
    }

    [Test]
    public async Task A_payer_without_funds_is_refused_and_nothing_moves()
    {
        await using var server = await Kit.StartAsync(inMemory, o => o.Routes["/paid"] = TestRoute.Charge(0.01m));
        var payer = server.CreateFundedAccount(0m);
        await using var services = Kit.Client(server, payer);

        Assert.That(async () => await services.Paid().GetAsync(new Uri("/paid", UriKind.Relative)), Throws.InstanceOf<PaymentRejectedException>(), "the kit refuses with verification-failed and the client stops");

        Assert.That(server.Ledger.Payments, Is.Empty);
        Assert.That(server.Ledger.BalanceOf(server.Payee), Is.EqualTo(BigInteger.Zero));
    }

    [Test]
    public async Task The_client_falls_back_when_the_node_has_no_eth_fillTransaction()
    {
        await using var server = await Kit.StartAsync(inMemory, o =>
        {
            o.Routes["/paid"] = TestRoute.Charge(0.02m);
            o.SupportsFillTransaction = false;
        });
        var payer = server.CreateFundedAccount(1m);
        await using var services = Kit.Client(server, payer);

        using var response = await services.Paid().GetAsync(new Uri("/paid", UriKind.Relative));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(server.Ledger.BalanceOf(server.Payee), Is.EqualTo(new BigInteger(20_000)));
    }

    [Test]
    public async Task A_free_route_answers_without_a_payment()
    {
        await using var server = await Kit.StartAsync(inMemory, o => o.Routes["/free"] = TestRoute.Free("hello"));
        var payer = server.CreateFundedAccount(1m);
        await using var services = Kit.Client(server, payer);

        using var response = await services.Paid().GetAsync(new Uri("/free", UriKind.Relative));

        Assert.That(await response.Content.ReadAsStringAsync(), Is.EqualTo("hello"));
        Assert.That(server.CredentialsReceived, Is.Zero);
    }
}
