// One paying agent in its own OS process, for the multi-process store tests: it pays the test server kit over loopback
// with its stores in a shared SQLite file or PostgreSQL database. Output lines are read by the tests.
// Usage: StoreProbe <store> charge <calls> <budget units> <start file>   all calls at once, after <start file> appears
//        StoreProbe <store> session <calls> <shared|exclusive> <lease ms> sequential session calls
//        StoreProbe <store> crash                                        session and charge calls until killed
// <store>: sqlite:<path> | postgres:<schema>:<connection string>
// Environment: MPP_SERVER_URL, MPP_RPC_URL, MPP_CHAIN_ID, MPP_PRIVATE_KEY.
using System.Globalization;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Mpp.Client.Tempo;

var store = args[0];
var mode = args[1];
var chainId = long.Parse(Environment.GetEnvironmentVariable("MPP_CHAIN_ID")!, CultureInfo.InvariantCulture);
var asset = TempoAssets.PathUsdOn(chainId);
var budgetUnits = mode == "charge" ? decimal.Parse(args[3], CultureInfo.InvariantCulture) : 1_000_000_000m;

var services = new ServiceCollection();
var mpp = services.AddMpp();
if (store.StartsWith("sqlite:", StringComparison.Ordinal))
{
    mpp.UseSqlite(store["sqlite:".Length..]);
}
else
{
    var rest = store["postgres:".Length..];
    var colon = rest.IndexOf(':', StringComparison.Ordinal);
    // Four probes share a server allowing 100 connections: each keeps its pool well below a quarter of that.
    mpp.UsePostgres(rest[(colon + 1)..] + ";Maximum Pool Size=16", o => o.Schema = rest[..colon]);
}

mpp.AddTempo(o =>
    {
        o.Signer = PrivateKeySigner.FromHex(Environment.GetEnvironmentVariable("MPP_PRIVATE_KEY")!);
        o.RpcUrl = new Uri(Environment.GetEnvironmentVariable("MPP_RPC_URL")!);
        o.ChainId = chainId;
        o.RpcRetries = 0;
    })
    .AddTempoSessions(o =>
    {
        o.CloseOnShutdown = false;
        o.Deposit = 0.5m;
        if (mode == "session")
        {
            o.Sharing = args[3] == "shared" ? ChannelSharing.Shared : ChannelSharing.Exclusive;
            o.LeaseDuration = TimeSpan.FromMilliseconds(int.Parse(args[4], CultureInfo.InvariantCulture));
            o.LeaseWaitTimeout = TimeSpan.FromSeconds(60);
        }
    });
services.AddHttpClient("paid", c => c.BaseAddress = new Uri(Environment.GetEnvironmentVariable("MPP_SERVER_URL")!)).AddMppPayments(o =>
{
    o.AllowInsecureLoopback = true;
    o.Budget.Scope = "fleet";
    o.Budget.Limit(asset, perRequest: 0.01m, total: budgetUnits / 1_000_000m);
});
await using var provider = services.BuildServiceProvider();
var client = provider.GetRequiredService<IHttpClientFactory>().CreateClient("paid");
var manager = provider.GetRequiredService<TempoSessionManager>();
await manager.RecoverAsync();
Say("READY");

switch (mode)
{
    case "charge":
    {
        var calls = int.Parse(args[2], CultureInfo.InvariantCulture);
        while (!File.Exists(args[4]))
        {
            await Task.Delay(5);
        }

        var outcomes = await Task.WhenAll(Enumerable.Range(0, calls).Select(async _ =>
        {
            try
            {
                using var response = await client.GetAsync(new Uri("/charge", UriKind.Relative));
                return response.StatusCode == HttpStatusCode.OK && response.GetPaymentReceipt() is not null ? "paid"
                    : response.StatusCode == HttpStatusCode.PaymentRequired && response.GetPaymentDetails()?.Refusals.Any(r => r.Rule == "budget.total") == true ? "refused"
                    : "other:" + (int)response.StatusCode;
            }
            catch (Exception ex)
            {
                Console.Error.WriteLine(ex);
                return "error:" + ex.GetType().Name;
            }
        }));
        Say($"RESULT paid={outcomes.Count(o => o == "paid")} refused={outcomes.Count(o => o == "refused")} other={outcomes.Count(o => o.StartsWith("other", StringComparison.Ordinal) || o.StartsWith("error", StringComparison.Ordinal))}");
        break;
    }

    case "session":
    {
        var calls = int.Parse(args[2], CultureInfo.InvariantCulture);
        for (var i = 0; i < calls; i++)
        {
            await PaySessionAsync();
        }

        Say($"REJECTED {manager.VouchersRejected}");
        break;
    }

    case "crash":
    {
        // Until killed: one caller on a session channel, four paying charges.
        var charges = Enumerable.Range(0, 4).Select(async _ =>
        {
            while (true)
            {
                using var response = await client.GetAsync(new Uri("/charge", UriKind.Relative));
                Say($"CHARGE {(int)response.StatusCode}");
            }
        });
        var session = Task.Run(async () =>
        {
            while (true)
            {
                await PaySessionAsync();
            }
        });
        await Task.WhenAll([.. charges, session]);
        break;
    }
}

async Task PaySessionAsync()
{
    using var response = await client.GetAsync(new Uri("/session", UriKind.Relative));
    var receipt = response.GetPaymentReceipt();
    var accepted = receipt is not null && receipt.TryGetMember("acceptedCumulative", out var value) ? value.GetString() : "-";
    Say($"PAID {(int)response.StatusCode} {receipt?.Reference ?? "-"} {accepted} rejected={manager.VouchersRejected}");
}

static void Say(string line)
{
    Console.WriteLine(line);
    Console.Out.Flush();
}
