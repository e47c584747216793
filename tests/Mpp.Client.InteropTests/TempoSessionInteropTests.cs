using System.Numerics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Mpp.Client.Tempo;
using Mpp.Client.Tempo.Evm;

namespace Mpp.Client.InteropTests;

/// <summary>Tempo sessions end to end against the real mppx server and the local chain's channel escrow.</summary>
[Category("Interop")]
[NonParallelizable]
public sealed class TempoSessionInteropTests
{
    internal static readonly Asset PathUsd = TempoAssets.PathUsdOn(ReferenceServer.ChainId);

    internal static ServiceProvider Services(Action<TempoSessionOptions>? sessions = null, decimal total = 5m, IServiceCollection? services = null)
    {
        services ??= new ServiceCollection();
        services.AddMpp()
            .AddTempo(o =>
            {
                o.Signer = PrivateKeySigner.FromHex(ReferenceServer.PayerKey);
                o.RpcUrl = ReferenceServer.RpcUrl;
                o.ChainId = ReferenceServer.ChainId;
            })
            .AddTempoSessions(o =>
            {
                o.CloseOnShutdown = false;
                sessions?.Invoke(o);
            });
        services.AddHttpClient("paid", c => c.BaseAddress = ReferenceServer.Url).AddMppPayments(o =>
        {
            o.AllowInsecureLoopback = true; // the harness serves plain HTTP on 127.0.0.1
            o.Budget.Limit(PathUsd, perRequest: 0.05m, total: total);
        });
        return services.BuildServiceProvider();
    }

    [Test]
    public async Task A_channel_opens_pays_fifty_calls_with_vouchers_and_closes_with_the_refund_on_chain()
    {
        await using var services = Services();
        var client = services.GetRequiredService<IHttpClientFactory>().CreateClient("paid");
        var manager = services.GetRequiredService<TempoSessionManager>();
        var ledger = services.GetRequiredService<ISpendLedger>();
        string? channelId = null;
        for (var i = 1; i <= 50; i++)
        {
            using var response = await client.GetAsync(new Uri("/session", UriKind.Relative));
            Assert.That((int)response.StatusCode, Is.EqualTo(200), await response.Content.ReadAsStringAsync());
            var receipt = response.GetPaymentReceipt();
            Assert.That(receipt, Is.Not.Null, $"call {i} has no receipt");
            Assert.That(receipt!.TryGetMember("acceptedCumulative", out var accepted), Is.True);
            Assert.That(accepted.GetString(), Is.EqualTo((i * 1000).ToString(System.Globalization.CultureInfo.InvariantCulture)), $"call {i}");
            channelId ??= receipt.Reference;
            Assert.That(receipt.Reference, Is.EqualTo(channelId), "every call uses the one channel");
        }

        var channel = manager.GetChannels().Single(c => c.ChannelId == channelId);
        Assert.That(channel.HighestSigned, Is.EqualTo(new BigInteger(50_000)));
        Assert.That(channel.Deposit, Is.EqualTo(new BigInteger(1_000_000)));
        var held = await ledger.GetSummaryAsync("paid", PathUsd.Id, default);
        Assert.That(held.Reserved, Is.EqualTo(new BigInteger(1_000_000)), "the deposit is locked in the budget while the channel is open");

        var closed = await manager.CloseAsync(channelId!);
        Assert.That(closed.SettledToPayee, Is.EqualTo(new BigInteger(50_000)));
        Assert.That(closed.RefundedToPayer, Is.EqualTo(new BigInteger(950_000)));
        var onChain = await ChannelClosedAsync(closed.TransactionHash, channelId!);
        Assert.That(onChain, Is.EqualTo((new BigInteger(50_000), new BigInteger(950_000))), "the ChannelClosed event on chain");
        var after = await ledger.GetSummaryAsync("paid", PathUsd.Id, default);
        Assert.That((after.Reserved, after.Committed), Is.EqualTo((BigInteger.Zero, new BigInteger(50_000))), "the settlement is spent, the refund is back in the budget");
        Assert.That(manager.VouchersRejected, Is.Zero);
    }

    internal static async Task<(BigInteger Settled, BigInteger Refunded)> ChannelClosedAsync(string transactionHash, string channelId)
    {
        using var rpc = new HttpClient();
        var request = new JsonObject { ["jsonrpc"] = "2.0", ["id"] = 1, ["method"] = "eth_getTransactionReceipt", ["params"] = new JsonArray(transactionHash) };
        using var response = await rpc.PostAsync(ReferenceServer.RpcUrl, new StringContent(request.ToJsonString(), System.Text.Encoding.UTF8, "application/json"));
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var receipt = document.RootElement.GetProperty("result");
        Assert.That(receipt.GetProperty("status").GetString(), Is.EqualTo("0x1"));
        var topic = Hex.Encode(Keccak.Hash("ChannelClosed(bytes32,address,address,uint96,uint96)"));
        var log = receipt.GetProperty("logs").EnumerateArray().Single(l => l.GetProperty("topics")[0].GetString() == topic && l.GetProperty("topics")[1].GetString() == channelId);
        var data = Hex.Decode(log.GetProperty("data").GetString()!);
        return (new BigInteger(data.AsSpan(0, 32), isUnsigned: true, isBigEndian: true), new BigInteger(data.AsSpan(32, 32), isUnsigned: true, isBigEndian: true));
    }
}
