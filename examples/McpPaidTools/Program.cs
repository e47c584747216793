// McpPaidTools: an agent that pays for MCP tool calls, under a budget, with an approver that sees each tool call.
//
//   dotnet run --project examples/McpPaidTools
//
// Starts an MPP test server in this process (a stand-in payment verifier with an emulated Tempo chain) and a paid MCP
// server next to it (the MCP C# SDK's server, see PaidMcpServer.cs): "ping" is free, "weather" costs 0.01 pathUSD and
// answers an unpaid call with JSON-RPC error -32042. The agent calls both, pays the second, and prints what it paid.
using Microsoft.Extensions.DependencyInjection;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using Mpp.Client;
using Mpp.Client.Mcp;
using Mpp.Client.Tempo;
using Mpp.Client.Testing;

await using var kit = await MppTestServer.StartAsync();
await using var server = await PaidMcpServer.StartAsync(
    kit,
    [
        McpServerTool.Create(() => "pong", new McpServerToolCreateOptions { Name = "ping" }),
        McpServerTool.Create((string city) => $"Sunny and 21°C in {city}", new McpServerToolCreateOptions { Name = "weather" }),
    ],
    new Dictionary<string, TestRoute> { ["weather"] = TestRoute.Charge(0.01m, "One weather report") });
var pathUsd = TempoAssets.PathUsdOn(kit.ChainId);
var payer = kit.CreateFundedAccount(1m); // a dev account the test chain funds with 1 pathUSD
Console.WriteLine($"Paid MCP server at {server.Endpoint} (emulated chain {kit.ChainId}).");

var services = new ServiceCollection();
services.AddMpp()
    .AddTempo(o =>
    {
        o.Signer = payer.CreateSigner();
        o.RpcUrl = kit.RpcUrl;
        o.ChainId = kit.ChainId;
    })
    .UseApprover(new PrintingApprover(pathUsd))
    .AddMcp(o =>
    {
        o.AllowInsecureLoopback = true; // the local server speaks plain HTTP on 127.0.0.1
        o.RequireApproval = true;
        o.Budget.Limit(pathUsd, perRequest: 0.05m, total: 0.50m);
    });
await using var provider = services.BuildServiceProvider();

try
{
    await using var agent = await provider.GetRequiredService<PaidMcpClientFactory>().ConnectAsync(server.Endpoint);

    var ping = await agent.CallToolAsync("ping");
    Console.WriteLine($"ping: {Text(ping.Result)} ({(ping.Payment is null ? "free" : "paid?!")})");

    var weather = await agent.CallToolAsync("weather", new Dictionary<string, object?> { ["city"] = "Berlin" });
    var paid = weather.Payment!;
    Console.WriteLine($"weather: {Text(weather.Result)}");
    Console.WriteLine($"  paid {pathUsd.Format(paid.AmountPaid!.Value.Units)} via {paid.Method}/{paid.Quote!.Intent} to {paid.Challenge!.Realm}");
    Console.WriteLine($"  receipt: {weather.Receipt?.Status}, reference {weather.Receipt?.Reference}, {weather.Receipt?.Timestamp:u}");

    var spent = await provider.GetRequiredService<ISpendLedger>().GetSummaryAsync(agent.ClientName, pathUsd.Id, default);
    Console.WriteLine($"Budget: spent {pathUsd.Format(spent.Committed)}, left {pathUsd.Format(pathUsd.ToAtomic(0.50m) - spent.Total)} of {pathUsd.Format(pathUsd.ToAtomic(0.50m))}.");
    Console.WriteLine($"Chain: the payer holds {pathUsd.Format(kit.Ledger.BalanceOf(payer.Address))}, the server {pathUsd.Format(kit.Ledger.BalanceOf(kit.Payee))}.");
    return ping.Payment is null && weather.IsPaid && weather.Receipt is not null ? 0 : 1;
}
catch (Exception ex) when (ex is MppException or McpException)
{
    Console.Error.WriteLine($"The paid call failed: {ex.Message}");
    return 1;
}

static string Text(CallToolResult? result) => string.Concat(result?.Content.OfType<TextContentBlock>().Select(c => c.Text) ?? []);

/// <summary>Asked before every payment: prints the tool call and what it costs, and approves (a real agent would ask a person or a policy).</summary>
internal sealed class PrintingApprover(Asset asset) : IPaymentApprover
{
    public ValueTask<bool> ApproveAsync(PaymentQuote quote, PaymentContext context, CancellationToken cancellationToken)
    {
        Console.WriteLine($"approve? tool {context.Operation?.Name} {context.Operation?.Arguments?.GetRawText() ?? "{}"} for {asset.Format(quote.Amount.Units)} at {context.Host}: yes");
        return ValueTask.FromResult(true);
    }
}
