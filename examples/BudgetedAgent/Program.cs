// BudgetedAgent: a hosted agent with named HttpClients, each with its own budget, per-host limits and an approval callback.
//
//   dotnet run --project examples/BudgetedAgent
//
// The paid API is an MPP test server started in this process. The agent searches until the "search" client's per-host
// limit stops it, asks its approver before buying premium reports (one is approved, the next passes the per-host
// limit), pays a translation session call by call, and stops; the host closes the session's channel on shutdown.
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Mpp.Client;
using Mpp.Client.Tempo;
using Mpp.Client.Testing;

await using var server = await MppTestServer.StartAsync(o =>
{
    o.Routes["/search"] = TestRoute.Charge(0.002m, "One search");
    o.Routes["/report"] = TestRoute.Charge(0.25m, "A premium report");
    o.Routes["/translate"] = TestRoute.Session(0.001m, suggestedDeposit: 0.05m);
});
var pathUsd = TempoAssets.PathUsdOn(server.ChainId);

var builder = Host.CreateApplicationBuilder(args);
builder.Logging.SetMinimumLevel(LogLevel.Warning);

// Budgets, journal, receipts and channels in one SQLite file, checked and migrated at start-up. A real agent keeps a fixed
// path (say /var/lib/agent/mpp.db) so its budget survives restarts; this demo starts afresh each run.
var database = Path.Combine(Path.GetTempPath(), "mpp-budgeted-agent-" + Guid.NewGuid().ToString("N"), "mpp.db");
builder.Services.AddMpp()
    .UseSqlite(database)
    .AddTempo(o =>
    {
        o.Signer = server.CreateFundedAccount(2m).CreateSigner();
        o.RpcUrl = server.RpcUrl;
        o.ChainId = server.ChainId;
    })
    .AddTempoSessions(o => o.CloseOnShutdown = true) // the host closes open channels when it stops
    .UseApprover(new SpendApprover(maxApproved: 0.30m));

// Cheap, frequent calls: small per-request and per-host limits, no approval needed.
builder.Services.AddHttpClient("search", c => c.BaseAddress = server.BaseAddress).AddMppPayments(o =>
{
    o.AllowInsecureLoopback = true; // the test server speaks plain HTTP on 127.0.0.1
    o.AllowedHosts.Add(server.BaseAddress.Host);
    o.Budget.Limit(pathUsd, perRequest: 0.005m, perHost: 0.02m, perDay: 1m);
});

// Expensive calls: every payment goes to the approver first.
builder.Services.AddHttpClient("reports", c => c.BaseAddress = server.BaseAddress).AddMppPayments(o =>
{
    o.AllowInsecureLoopback = true;
    o.RequireApproval = true;
    o.Budget.Limit(pathUsd, perRequest: 0.50m, perHost: 0.30m, total: 1m);
});
// A session: the deposit is held in this client's budget while the channel is open.
builder.Services.AddHttpClient("translate", c => c.BaseAddress = server.BaseAddress).AddMppPayments(o =>
{
    o.AllowInsecureLoopback = true;
    o.Budget.Limit(pathUsd, perRequest: 0.002m, total: 0.10m);
});
builder.Services.AddHostedService<Agent>();

using var host = builder.Build();
await host.StartAsync();
await host.WaitForShutdownAsync(); // the agent stops the host when it is done; stopping closes the session's channel

var ledger = host.Services.GetRequiredService<ISpendLedger>();
foreach (var scope in new[] { "search", "reports", "translate" })
{
    var summary = await ledger.GetSummaryAsync(scope, pathUsd.Id, default);
    Console.WriteLine($"{scope,-8} spent {pathUsd.Format(summary.Committed)}, still held {pathUsd.Format(summary.Reserved)}");
}

Console.WriteLine($"{(await host.Services.GetRequiredService<IReceiptStore>().GetAllAsync(default)).Count} receipts kept in {database}");

return Agent.Succeeded ? 0 : 1;

/// <summary>The agent's work: runs once, then stops the host.</summary>
internal sealed class Agent(IHttpClientFactory clients, IHostApplicationLifetime lifetime) : BackgroundService
{
    public static bool Succeeded { get; private set; }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            var search = clients.CreateClient("search");
            var searches = 0;
            for (var i = 0; i < 20; i++)
            {
                using var response = await search.GetAsync(new Uri("search", UriKind.Relative), stoppingToken);
                if (response.IsSuccessStatusCode)
                {
                    searches++;
                    continue;
                }

                Console.WriteLine($"search #{i + 1} not paid: {Refusal(response)}");
                break;
            }

            Console.WriteLine($"{searches} searches paid before the per-host limit");

            var reports = clients.CreateClient("reports");
            for (var i = 1; i <= 2; i++)
            {
                using var response = await reports.GetAsync(new Uri("report", UriKind.Relative), stoppingToken);
                Console.WriteLine(response.IsSuccessStatusCode
                    ? $"report #{i}: paid {response.GetPaymentDetails()?.AmountPaid?.Units} units, receipt {response.GetPaymentReceipt()?.Reference[..12]}…"
                    : $"report #{i}: not paid: {Refusal(response)}");
            }

            // A session: the first call opens a channel, the rest pay with vouchers.
            var translate = clients.CreateClient("translate");
            for (var i = 1; i <= 5; i++)
            {
                using var response = await translate.GetAsync(new Uri("translate", UriKind.Relative), stoppingToken);
                response.EnsureSuccessStatusCode();
            }

            Console.WriteLine("5 translations paid on one channel");
            Succeeded = searches == 10;
        }
        finally
        {
            lifetime.StopApplication();
        }
    }

    private static string Refusal(HttpResponseMessage response)
        => string.Join("; ", response.GetPaymentDetails()?.Refusals.Select(r => $"{r.Rule}: {r.Reason}") ?? ["HTTP " + (int)response.StatusCode]);
}

/// <summary>Asked before every payment of a client that requires approval: a real agent would ask a person or a policy service.</summary>
internal sealed class SpendApprover(decimal maxApproved) : IPaymentApprover
{
    public ValueTask<bool> ApproveAsync(PaymentQuote quote, PaymentContext context, CancellationToken cancellationToken)
    {
        var approved = quote.Amount.Units <= TempoAssets.PathUsd.ToAtomic(maxApproved);
        Console.WriteLine($"approval: {context.ClientName} wants to pay {quote.Amount.Units} units to {context.Host} for {context.RequestUri.AbsolutePath}: {(approved ? "approved" : "refused")}");
        return ValueTask.FromResult(approved);
    }
}
