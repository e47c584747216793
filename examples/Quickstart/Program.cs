// Quickstart: an HttpClient that pays for what it calls, under a budget.
//
//   dotnet run --project examples/Quickstart
//       starts an MPP test server in this process (a stand-in for a paid API, with an emulated Tempo chain),
//       makes one charge call and three session calls, closes the session and prints what was paid.
//   dotnet run --project examples/Quickstart -- --url https://api.example --rpc https://rpc.example --key-env MPP_PRIVATE_KEY
//       does the same against a real server (expects its /paid and /session routes, like ../shared/interop's).
//       Also read from MPP_SERVER_URL, MPP_RPC_URL, MPP_CHAIN_ID and MPP_PRIVATE_KEY.
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Mpp.Client;
using Mpp.Client.Tempo;
using Mpp.Client.Testing;

var url = Argument("--url") ?? Environment.GetEnvironmentVariable("MPP_SERVER_URL");
await using var testServer = url is null
    ? await MppTestServer.StartAsync(o =>
    {
        o.Routes["/paid"] = TestRoute.Charge(0.01m, "One weather report");
        o.Routes["/session"] = TestRoute.Session(0.001m, suggestedDeposit: 0.1m);
    })
    : null;
var serverUrl = testServer?.BaseAddress ?? new Uri(url!);
var rpcUrl = testServer?.RpcUrl ?? new Uri(Argument("--rpc") ?? Environment.GetEnvironmentVariable("MPP_RPC_URL") ?? throw new ArgumentException("--rpc (or MPP_RPC_URL) is needed with --url"));
var chainId = testServer?.ChainId ?? long.Parse(Argument("--chain-id") ?? Environment.GetEnvironmentVariable("MPP_CHAIN_ID") ?? TempoAssets.MainnetChainId.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
var key = testServer?.CreateFundedAccount(5m).PrivateKey   // a dev account the test chain funds with 5 pathUSD
    ?? Environment.GetEnvironmentVariable(Argument("--key-env") ?? "MPP_PRIVATE_KEY")
    ?? throw new ArgumentException("set MPP_PRIVATE_KEY (or name another variable with --key-env) to pay a real server");
var pathUsd = TempoAssets.PathUsdOn(chainId);
Console.WriteLine(testServer is null ? $"Paying {serverUrl} (chain {chainId})." : $"Started an MPP test server at {serverUrl} (emulated chain {chainId}).");

// 1. Register the payment methods and a budget.
var services = new ServiceCollection();
services.AddMpp()
    .AddTempo(o =>
    {
        o.Signer = PrivateKeySigner.FromHex(key);
        o.RpcUrl = rpcUrl;
        o.ChainId = chainId;
    })
    .AddTempoSessions(o => o.MaxDeposit = 1m);
services.AddHttpClient("agent", c => c.BaseAddress = serverUrl)
    .AddMppPayments(o =>
    {
        o.AllowInsecureLoopback = serverUrl.IsLoopback; // the local servers speak plain HTTP on 127.0.0.1
        o.Budget.Limit(pathUsd, perRequest: 0.05m, total: 1m);
    });
await using var provider = services.BuildServiceProvider();
var client = provider.GetRequiredService<IHttpClientFactory>().CreateClient("agent");

// 2. Call paid endpoints like any other.
using (var response = await client.GetAsync(new Uri("paid", UriKind.Relative)))
{
    Report("GET /paid", response, await response.Content.ReadAsStringAsync());
}

for (var call = 1; call <= 3; call++)
{
    using var response = await client.GetAsync(new Uri("session", UriKind.Relative));
    Report($"GET /session #{call}", response, await response.Content.ReadAsStringAsync());
}

// 3. Close the session: the server is paid what was used, the rest of the deposit comes back.
foreach (var (channelId, result, error) in await provider.GetRequiredService<TempoSessionManager>().CloseAllAsync())
{
    Console.WriteLine(result is not null
        ? $"closed channel {channelId[..10]}…: server paid {pathUsd.Format(result.SettledToPayee)}, refunded {pathUsd.Format(result.RefundedToPayer)}"
        : $"channel {channelId[..10]}… not closed: {error?.Message}");
}

// 4. What was paid, and what the budget has left.
Console.WriteLine("Receipts:");
foreach (var receipt in await provider.GetRequiredService<IReceiptStore>().GetAllAsync(default))
{
    Console.WriteLine($"  {receipt.Path,-9} {receipt.Method}/{receipt.Intent,-8} {pathUsd.Format(System.Numerics.BigInteger.Parse(receipt.Amount, CultureInfo.InvariantCulture)),-15} {receipt.Reference}");
}

var spent = await provider.GetRequiredService<ISpendLedger>().GetSummaryAsync("agent", pathUsd.Id, default);
Console.WriteLine($"Budget: spent {pathUsd.Format(spent.Committed)}, held {pathUsd.Format(spent.Reserved)}, left {pathUsd.Format(pathUsd.ToAtomic(1m) - spent.Total)} of {pathUsd.Format(pathUsd.ToAtomic(1m))}.");
return spent.Committed > 0 && spent.Reserved == 0 ? 0 : 1;

void Report(string call, HttpResponseMessage response, string body)
{
    var paid = response.GetPaymentDetails();
    Console.WriteLine($"{call}: HTTP {(int)response.StatusCode} {body}");
    Console.WriteLine(paid?.AmountPaid is { } amount
        ? $"  paid {pathUsd.Format(amount.Units)} via {paid.Method}/{paid.Quote!.Intent}, receipt {paid.Receipt?.Reference}"
        : $"  not paid {string.Join("; ", paid?.Refusals.Select(r => r.Reason) ?? [])}");
    if (!response.IsSuccessStatusCode)
    {
        throw new InvalidOperationException($"{call} failed with HTTP {(int)response.StatusCode}");
    }
}

string? Argument(string name) => Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? args[i + 1] : null;
