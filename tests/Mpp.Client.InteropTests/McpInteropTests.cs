using System.Numerics;
using Microsoft.Extensions.DependencyInjection;
using ModelContextProtocol.Protocol;
using Mpp.Client.Mcp;
using Mpp.Client.Tempo;

namespace Mpp.Client.InteropTests;

/// <summary>
/// MPP over MCP against the reference stack: the harness's paid MCP server (mcp-server.mjs: the MCP TypeScript SDK with
/// mppx's MCP transport) on the local chain, called from the C# MCP SDK through <see cref="PaidMcpClient"/>.
/// Needs <c>MPP_MCP=1</c> on the harness (MPP_MCP_URL).
/// </summary>
[Category("Interop")]
[NonParallelizable]
public sealed class McpInteropTests
{
    private static readonly Asset PathUsd = TempoAssets.PathUsdOn(ReferenceServer.ChainId);

    private static ServiceProvider Services(RecordingApprover approver)
    {
        var services = new ServiceCollection();
        services.AddMpp()
            .AddTempo(o =>
            {
                o.Signer = PrivateKeySigner.FromHex(ReferenceServer.PayerKey);
                o.RpcUrl = ReferenceServer.RpcUrl;
                o.ChainId = ReferenceServer.ChainId;
            })
            .AddTempoSessions(o => o.CloseOnShutdown = false)
            .UseApprover(approver)
            .AddMcp(o =>
            {
                o.AllowInsecureLoopback = true; // the harness serves plain HTTP on 127.0.0.1
                o.RequireApproval = true;
                o.Budget.Limit(PathUsd, perRequest: 0.05m, total: 5m);
            });
        return services.BuildServiceProvider();
    }

    [Test]
    public async Task The_weather_tool_is_paid_with_a_tempo_charge_the_receipt_comes_in_meta_and_the_chain_shows_the_transfer()
    {
        var approver = new RecordingApprover();
        await using var services = Services(approver);
        await using var client = await services.GetRequiredService<PaidMcpClientFactory>().ConnectAsync(ReferenceServer.McpUrl);

        var free = await client.CallToolAsync("ping");
        Assert.That(free.Payment, Is.Null, "ping is free");

        var paid = await client.CallToolAsync("weather", new Dictionary<string, object?> { ["city"] = "Berlin" });

        Assert.That(paid.IsPaid, Is.True);
        Assert.That(Text(paid.Result!), Does.Contain("Berlin"));
        var receipt = paid.Receipt;
        Assert.That(receipt, Is.Not.Null, "result._meta[org.paymentauth/receipt]");
        Assert.That(receipt!.Method, Is.EqualTo("tempo"));
        Assert.That(receipt.TryGetMember("challengeId", out var challengeId), Is.True);
        Assert.That(challengeId.GetString(), Is.EqualTo(paid.Payment!.Challenge!.Id));
        Assert.That(paid.Payment.AmountPaid!.Value.Units, Is.EqualTo(new BigInteger(10_000)));

        var transfers = await TempoChargeInteropTests.TransferWithMemoLogsAsync(receipt.Reference);
        Assert.That(transfers, Has.Count.EqualTo(1));
        Assert.That(transfers[0].From, Is.EqualTo(PrivateKeySigner.FromHex(ReferenceServer.PayerKey).Address.ToString().ToLowerInvariant()));
        Assert.That(transfers[0].To, Is.EqualTo(ReferenceServer.Payee.ToLowerInvariant()));
        Assert.That(transfers[0].Amount, Is.EqualTo(new BigInteger(10_000)));

        Assert.That(approver.Seen, Has.Count.EqualTo(1));
        Assert.That(approver.Seen[0].Operation?.Name, Is.EqualTo("weather"));
        Assert.That(approver.Seen[0].Operation?.Arguments?.GetProperty("city").GetString(), Is.EqualTo("Berlin"));

        var stored = await services.GetRequiredService<IReceiptStore>().GetAllAsync(default);
        Assert.That(stored.Select(r => r.Reference), Does.Contain(receipt.Reference), "the receipt store has it, as for HTTP");
    }

    [Test]
    public async Task The_weather_meta_tool_signals_payment_in_a_tool_result_and_is_paid_the_same_way()
    {
        var approver = new RecordingApprover();
        await using var services = Services(approver);
        await using var client = await services.GetRequiredService<PaidMcpClientFactory>().ConnectAsync(ReferenceServer.McpUrl);

        var paid = await client.CallToolAsync("weather_meta", new Dictionary<string, object?> { ["city"] = "Lima" });

        Assert.That(paid.IsPaid, Is.True);
        Assert.That(paid.Result!.IsError, Is.Not.True);
        Assert.That(Text(paid.Result), Does.Contain("Lima"));
        Assert.That(paid.Receipt, Is.Not.Null);
        Assert.That(approver.Seen.Single().Operation?.Name, Is.EqualTo("weather_meta"));
    }

    [Test]
    public async Task The_session_billed_echo_tool_is_paid_three_times_on_one_channel_which_then_closes_over_mcp()
    {
        var approver = new RecordingApprover();
        await using var services = Services(approver);
        await using var client = await services.GetRequiredService<PaidMcpClientFactory>().ConnectAsync(ReferenceServer.McpUrl);
        var manager = services.GetRequiredService<TempoSessionManager>();

        string? channelId = null;
        for (var i = 1; i <= 3; i++)
        {
            var paid = await client.CallToolAsync("echo", new Dictionary<string, object?> { ["text"] = $"hello {i}" });
            Assert.That(paid.IsPaid, Is.True, $"call {i}");
            Assert.That(Text(paid.Result!), Does.Contain($"hello {i}"));
            Assert.That(paid.Receipt, Is.Not.Null, $"call {i} has no receipt");
            channelId ??= paid.Receipt!.Reference;
            Assert.That(paid.Receipt!.Reference, Is.EqualTo(channelId), "every call uses the one channel");
        }

        var channel = manager.GetChannels().Single(c => c.ChannelId == channelId);
        Assert.That(channel.HighestSigned, Is.EqualTo(new BigInteger(3_000)));
        var closed = await manager.CloseAsync(channelId!);
        Assert.That((closed.SettledToPayee, closed.RefundedToPayer), Is.EqualTo((new BigInteger(3_000), channel.Deposit - 3_000)));
        Assert.That(await TempoSessionInteropTests.ChannelClosedAsync(closed.TransactionHash, channelId!), Is.EqualTo((closed.SettledToPayee, closed.RefundedToPayer)), "the ChannelClosed event on chain");
        Assert.That(manager.VouchersRejected, Is.Zero);
        Assert.That(approver.Seen.Select(c => c.Operation?.Name), Has.All.EqualTo("echo"));
    }

    private static string Text(CallToolResult result) => string.Concat(result.Content.OfType<TextContentBlock>().Select(c => c.Text));

    private sealed class RecordingApprover : IPaymentApprover
    {
        public List<PaymentContext> Seen { get; } = [];

        public ValueTask<bool> ApproveAsync(PaymentQuote quote, PaymentContext context, CancellationToken cancellationToken)
        {
            lock (Seen)
            {
                Seen.Add(context);
            }

            return ValueTask.FromResult(true);
        }
    }
}
