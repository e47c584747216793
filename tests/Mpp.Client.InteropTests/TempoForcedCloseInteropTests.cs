using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Mpp.Client.Tempo;

namespace Mpp.Client.InteropTests;

/// <summary>
/// Forced close against the local chain's escrow: request-close, the 900 s grace period passed by moving chain time
/// forward, withdraw. Moving chain time breaks every later wall-clock transaction on that chain, so these tests run in a
/// harness of their own (<c>Category=ChainTime</c>, see .ci/run), never beside the other interop tests.
/// </summary>
[Category("Interop")]
[Category("ChainTime")]
[NonParallelizable]
public sealed class TempoForcedCloseInteropTests
{
    [Test]
    public async Task An_unresponsive_server_is_bypassed_by_request_close_then_withdraw_after_the_grace_period_in_chain_time()
    {
        await using var services = TempoSessionInteropTests.Services();
        var client = services.GetRequiredService<IHttpClientFactory>().CreateClient("paid");
        var manager = services.GetRequiredService<TempoSessionManager>();
        var ledger = services.GetRequiredService<ISpendLedger>();
        for (var i = 0; i < 2; i++)
        {
            using var response = await client.GetAsync(new Uri("/session", UriKind.Relative));
            Assert.That((int)response.StatusCode, Is.EqualTo(200));
        }

        var channel = manager.GetChannels().Single(c => c.State == SessionChannelState.Open);
        var readyAt = await manager.RequestCloseAsync(channel.ChannelId);
        Assert.That(manager.GetChannels().Single(c => c.ChannelId == channel.ChannelId).State, Is.EqualTo(SessionChannelState.CloseRequested));

        var early = Assert.ThrowsAsync<TempoSessionException>(() => manager.WithdrawAsync(channel.ChannelId));
        Assert.That(early!.Message, Does.Contain("grace period"));

        // Paying on the channel is over: the next call opens a new channel rather than vouching on a closing one.
        await AdvanceChainAsync(seconds: 901);
        var head = await HeadTimestampAsync();
        Assert.That(head, Is.GreaterThanOrEqualTo(readyAt));

        var closed = await manager.WithdrawAsync(channel.ChannelId);
        Assert.That(closed.SettledToPayee + closed.RefundedToPayer, Is.EqualTo(channel.Deposit));
        // The payee may settle the vouchers it holds during the grace period (mppx does); never more than was signed.
        Assert.That(closed.SettledToPayee, Is.LessThanOrEqualTo(channel.HighestSigned));
        Assert.That(closed.RefundedToPayer, Is.GreaterThanOrEqualTo(channel.Deposit - channel.HighestSigned));
        Assert.That(await TempoSessionInteropTests.ChannelClosedAsync(closed.TransactionHash, channel.ChannelId), Is.EqualTo((closed.SettledToPayee, closed.RefundedToPayer)));
        var after = await ledger.GetSummaryAsync("paid", TempoSessionInteropTests.PathUsd.Id, default);
        Assert.That(after.Total, Is.EqualTo(closed.SettledToPayee), "the budget gets the refund back");
    }

    private static async Task AdvanceChainAsync(long seconds)
    {
        await ReferenceServer.RpcAsync("evm_increaseTime", new JsonArray(seconds));
        await ReferenceServer.RpcAsync("evm_mine", []);
    }

    private static async Task<long> HeadTimestampAsync()
    {
        var block = await ReferenceServer.RpcAsync("eth_getBlockByNumber", new JsonArray("latest", false));
        return (long)Mpp.Client.Tempo.Evm.Hex.DecodeQuantity(block!["timestamp"]!.GetValue<string>());
    }

}
