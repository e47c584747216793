using System.Net;
using System.Numerics;
using Microsoft.Extensions.DependencyInjection;
using Mpp.Client.Tempo;

namespace Mpp.Client.Testing.Tests;

/// <summary>Sessions end to end with the real TempoSessionManager: open, vouchers, top-up, close, SSE; over Kestrel and in memory.</summary>
[TestFixture(false)]
[TestFixture(true)]
public sealed class SessionEndToEndTests(bool inMemory)
{
    [Test]
    public async Task A_channel_opens_pays_ten_calls_with_vouchers_and_closes_with_settlement_and_refund_to_the_unit()
    {
        await using var server = await Kit.StartAsync(inMemory, o => o.Routes["/session"] = TestRoute.Session(0.001m, suggestedDeposit: 1m));
        var payer = server.CreateFundedAccount(5m);
        await using var services = Kit.Client(server, payer);
        var client = services.Paid();
        var manager = services.GetRequiredService<TempoSessionManager>();
        for (var i = 1; i <= 10; i++)
        {
            using var response = await client.GetAsync(new Uri("/session", UriKind.Relative));
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), await response.Content.ReadAsStringAsync());
            Assert.That(response.GetPaymentReceipt()!.TryGetMember("acceptedCumulative", out var accepted), Is.True);
            Assert.That(accepted.GetString(), Is.EqualTo((i * 1000).ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }

        var channel = server.Ledger.Channels.Single();
        Assert.That((channel.Deposit, channel.AcceptedCumulative, channel.Spent, channel.Units), Is.EqualTo((new BigInteger(1_000_000), new BigInteger(10_000), new BigInteger(10_000), 10L)));
        Assert.That(server.Ledger.BalanceOf(payer.Address), Is.EqualTo(new BigInteger(4_000_000)), "the deposit sits in the escrow");
        Assert.That(server.Ledger.BalanceOf(server.Ledger.Escrow), Is.EqualTo(new BigInteger(1_000_000)));

        var closed = await manager.CloseAsync(channel.ChannelId);

        Assert.That((closed.SettledToPayee, closed.RefundedToPayer), Is.EqualTo((new BigInteger(10_000), new BigInteger(990_000))));
        var after = server.Ledger.FindChannel(channel.ChannelId)!;
        Assert.That(after.IsClosed, Is.True);
        Assert.That(after.CloseTransaction, Is.EqualTo(closed.TransactionHash));
        Assert.That(server.Ledger.BalanceOf(server.Payee), Is.EqualTo(new BigInteger(10_000)));
        Assert.That(server.Ledger.BalanceOf(payer.Address), Is.EqualTo(new BigInteger(4_990_000)));
        Assert.That(server.Ledger.BalanceOf(server.Ledger.Escrow), Is.EqualTo(BigInteger.Zero));
        Assert.That(manager.VouchersRejected, Is.Zero);
    }

    [Test]
    public async Task A_channel_short_of_deposit_is_topped_up_and_keeps_paying()
    {
        await using var server = await Kit.StartAsync(inMemory, o => o.Routes["/session"] = TestRoute.Session(0.001m));
        var payer = server.CreateFundedAccount(1m);
        await using var services = Kit.Client(server, payer, s => s.Deposit = 0.003m);
        var manager = services.GetRequiredService<TempoSessionManager>();
        for (var i = 1; i <= 5; i++)
        {
            using var response = await services.Paid().GetAsync(new Uri("/session", UriKind.Relative));
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), $"call {i}: " + await response.Content.ReadAsStringAsync());
        }

        var channel = server.Ledger.Channels.Single();
        Assert.That(channel.Deposit, Is.EqualTo(new BigInteger(6000)), "3000 at open, 3000 topped up on the fourth call");
        var closed = await manager.CloseAsync(channel.ChannelId);
        Assert.That((closed.SettledToPayee, closed.RefundedToPayer), Is.EqualTo((new BigInteger(5000), new BigInteger(1000))));
        Assert.That(server.Ledger.BalanceOf(payer.Address), Is.EqualTo(new BigInteger(1_000_000 - 5000)));
    }

    [Test]
    public async Task A_stream_is_paid_per_token_with_voucher_posts_answering_payment_need_voucher()
    {
        await using var server = await Kit.StartAsync(inMemory, o => o.Routes["/stream"] = TestRoute.Stream(0.0001m, tokens: 6, suggestedDeposit: 0.1m));
        var payer = server.CreateFundedAccount(1m);
        await using var services = Kit.Client(server, payer);
        var manager = services.GetRequiredService<TempoSessionManager>();
        var texts = new List<string>();
        using (var stream = await manager.StreamAsync(services.Paid(), new HttpRequestMessage(HttpMethod.Get, new Uri("/stream", UriKind.Relative))))
        {
            await foreach (var message in stream)
            {
                texts.Add(message.Data);
                Assert.That(message.Spent, Is.EqualTo(new BigInteger(100 * texts.Count)));
            }

            Assert.That(stream.End, Is.EqualTo(PaidStreamEnd.Completed));
            Assert.That(stream.VouchersSent, Is.EqualTo(5), "the paid GET carries the first voucher, each later token one POST");
            Assert.That(stream.FinalReceipt!.TryGetMember("spent", out var spent), Is.True);
            Assert.That(spent.GetString(), Is.EqualTo("600"));
        }

        Assert.That(texts, Is.EqualTo(new[] { "token-1", "token-2", "token-3", "token-4", "token-5", "token-6" }));
        var channel = server.Ledger.Channels.Single();
        Assert.That((channel.Spent, channel.Units), Is.EqualTo((new BigInteger(600), 6L)));
        var closed = await manager.CloseAsync(channel.ChannelId);
        Assert.That((closed.SettledToPayee, closed.RefundedToPayer), Is.EqualTo((new BigInteger(600), new BigInteger(100_000 - 600))));
    }

    [Test]
    public async Task A_spend_cap_ends_a_stream_and_the_server_stops_waiting()
    {
        await using var server = await Kit.StartAsync(inMemory, o => o.Routes["/stream"] = TestRoute.Stream(0.0001m, tokens: 10, suggestedDeposit: 0.1m));
        var payer = server.CreateFundedAccount(1m);
        await using var services = Kit.Client(server, payer);
        var manager = services.GetRequiredService<TempoSessionManager>();
        using (var capped = await manager.StreamAsync(services.Paid(), new HttpRequestMessage(HttpMethod.Get, new Uri("/stream", UriKind.Relative)), maxSpend: 0.0003m))
        {
            var count = 0;
            await foreach (var message in capped)
            {
                count++;
            }

            Assert.That(capped.End, Is.EqualTo(PaidStreamEnd.SpendCapReached));
            Assert.That(count, Is.EqualTo(3));
        }

        var closed = await manager.CloseAsync(server.Ledger.Channels.Single().ChannelId);
        Assert.That(closed.SettledToPayee, Is.EqualTo(new BigInteger(300)));
    }

    [Test]
    public async Task A_forced_close_requests_the_close_on_chain_and_withdraws_after_the_grace_period()
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow.AddSeconds(0));
        await using var server = await Kit.StartAsync(inMemory, o =>
        {
            o.TimeProvider = clock;
            o.Routes["/session"] = TestRoute.Session(0.001m, suggestedDeposit: 0.01m);
        });
        var payer = server.CreateFundedAccount(1m);
        await using var services = Kit.Client(server, payer);
        var manager = services.GetRequiredService<TempoSessionManager>();
        using (var response = await services.Paid().GetAsync(new Uri("/session", UriKind.Relative)))
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        }

        var channelId = server.Ledger.Channels.Single().ChannelId;
        var readyAt = await manager.RequestCloseAsync(channelId);
        Assert.That(server.Ledger.FindChannel(channelId)!.CloseRequestedAt, Is.Not.Zero);
        Assert.That(async () => await manager.WithdrawAsync(channelId), Throws.InstanceOf<MppException>(), "too early");
        clock.Advance(TimeSpan.FromSeconds(readyAt - server.Ledger.ChainTime + 1));

        var closed = await manager.WithdrawAsync(channelId);

        Assert.That((closed.SettledToPayee, closed.RefundedToPayer), Is.EqualTo((BigInteger.Zero, new BigInteger(10_000))), "nothing was settled on chain, so the whole deposit comes back");
        Assert.That(server.Ledger.BalanceOf(payer.Address), Is.EqualTo(new BigInteger(1_000_000)));
    }
}
