using System.Globalization;
using System.Numerics;
using System.Text.Json.Nodes;
using Mpp.Client.Testing;

namespace Mpp.Cli.Tests;

/// <summary>The tool paying the in-memory test server (no sockets, no chain): what it pays, prints and never repeats.</summary>
public sealed class CliPaymentTests
{
    private static async Task<(MppTestServer Server, CliTestHost Host, TestDevAccount Payer)> StartAsync(Func<HttpMessageHandler, HttpMessageHandler>? wrap = null)
    {
        var server = MppTestServer.CreateInMemory(o =>
        {
            o.Routes["/paid"] = TestRoute.Charge(0.01m, "a report");
            o.Routes["/session"] = TestRoute.Session(0.001m, suggestedDeposit: 0.1m);
        });
        var payer = server.CreateFundedAccount(1m);
        var host = new CliTestHost { PrimaryHandler = () => wrap is null ? server.CreateHandler() : wrap(server.CreateHandler()) };
        host.Variables["MPP_PRIVATE_KEY"] = payer.PrivateKey;
        host.Variables["MPP_RPC_URL"] = server.RpcUrl.ToString();
        host.Variables["MPP_CHAIN_ID"] = server.ChainId.ToString(CultureInfo.InvariantCulture);
        return await Task.FromResult((server, host, payer));
    }

    [Test]
    public async Task A_paid_request_moves_exactly_the_price_and_its_receipt_exports_as_csv()
    {
        var (server, host, payer) = await StartAsync();
        await using var _ = server;
        using var __ = host;

        var (code, output, error) = await host.RunAsync("request", server.Url("paid").ToString());
        Assert.That(code, Is.EqualTo(ExitCodes.Ok), error);
        Assert.That(output.Trim(), Is.Not.Empty);
        Assert.That(error, Does.Contain("payment: settled, 0.01 pathUSD via tempo/charge"));
        Assert.That(server.Ledger.BalanceOf(payer.Address), Is.EqualTo(new BigInteger(990_000)));

        var csv = await host.RunAsync("receipts", "export", "--format", "csv");
        var lines = csv.Output.Trim().Split('\n');
        Assert.That(lines, Has.Length.EqualTo(2), csv.Output);
        Assert.That(lines[1], Does.Contain(",/paid,tempo,charge,").And.Contain(",10000,").And.Contain(server.Ledger.Payments.Single().TransactionHash));
    }

    [Test]
    public async Task A_dry_run_prints_the_quote_and_nothing_moves()
    {
        var (server, host, payer) = await StartAsync();
        await using var _ = server;
        using var __ = host;

        var (code, output, error) = await host.RunAsync("request", server.Url("paid").ToString(), "--dry-run", "--json");
        Assert.That(code, Is.EqualTo(ExitCodes.Ok), error);
        Assert.That(JsonNode.Parse(output)!["outcome"]!.GetValue<string>(), Is.EqualTo("dry-run"));
        Assert.That((server.CredentialsReceived, server.Ledger.Payments.Count, server.Ledger.BalanceOf(payer.Address)), Is.EqualTo((0L, 0, new BigInteger(1_000_000))));
    }

    [Test]
    public async Task A_paid_request_whose_answer_times_out_is_an_unknown_outcome_and_is_never_paid_again()
    {
        var (server, host, payer) = await StartAsync(inner => new StallAfterCredential(inner));
        await using var _ = server;
        using var __ = host;

        var (code, output, error) = await host.RunAsync("request", server.Url("paid").ToString(), "--timeout", "1", "--json");
        Assert.That(code, Is.EqualTo(ExitCodes.Unknown), output + error);
        Assert.That(JsonNode.Parse(output)!["outcome"]!.GetValue<string>(), Is.EqualTo("unknown"));
        Assert.That(server.CredentialsReceived, Is.EqualTo(1), "one credential, never a second");
        Assert.That(server.Ledger.BalanceOf(payer.Address), Is.EqualTo(new BigInteger(990_000)), "the server took the payment whose answer was lost");

        var budget = JsonNode.Parse((await host.RunAsync("budget", "show", "--json")).Output)!;
        var row = budget["assets"]!.AsArray().Single(a => a!["symbol"]!.GetValue<string>() == "pathUSD")!;
        Assert.That(row["unknown"]!.GetValue<string>(), Is.EqualTo("10000"), "the ledger keeps the payment counted as unknown");
    }

    [Test]
    public async Task Max_spend_caps_a_session_open_by_its_deposit()
    {
        var (server, host, payer) = await StartAsync();
        await using var _ = server;
        using var __ = host;

        var (code, output, error) = await host.RunAsync("request", server.Url("session").ToString(), "--max-spend", "0.05", "--json");
        Assert.That(code, Is.EqualTo(ExitCodes.Ok), output + error);
        var json = JsonNode.Parse(output)!;
        Assert.That(json["deposit"]!["units"]!.GetValue<string>(), Is.EqualTo("50000"), "the deposit shrinks to the cap instead of the suggested 0.1");
        Assert.That(server.Ledger.BalanceOf(payer.Address), Is.EqualTo(new BigInteger(950_000)));
        var receipts = JsonNode.Parse((await host.RunAsync("receipts", "list", "--json")).Output)!.AsArray();
        Assert.That(receipts.Single()!["amount"]!.GetValue<string>(), Is.EqualTo("1000"), "the receipt records the call's price, not the deposit held in the escrow");

        var unknown = await host.RunAsync("sessions", "close", "0x" + new string('a', 64));
        Assert.That(unknown.ExitCode, Is.EqualTo(ExitCodes.Error), "closing a channel the tool does not hold is an error, not a silent success");
        var channelId = json["receipt"]!["reference"]!.GetValue<string>();
        var close = await host.RunAsync("sessions", "close", "0x" + channelId[2..].ToUpperInvariant(), "--json");
        Assert.That(close.ExitCode, Is.EqualTo(ExitCodes.Ok), close.Output + close.Error);
        Assert.That(server.Ledger.BalanceOf(payer.Address), Is.EqualTo(new BigInteger(999_000)), "one call paid, the rest of the deposit came back");
        Assert.That(server.Ledger.Channels.All(c => c.IsClosed), Is.True);
    }

    [Test]
    public async Task A_channel_whose_server_stopped_answering_is_recovered_with_request_close_then_withdraw_after_the_grace_period()
    {
        var clock = new ManualClock(TimeProvider.System.GetUtcNow());
        var server = MppTestServer.CreateInMemory(o =>
        {
            o.TimeProvider = clock; // the emulated chain's time
            o.Routes["/session"] = TestRoute.Session(0.001m, suggestedDeposit: 0.1m);
        });
        await using var _ = server;
        var payer = server.CreateFundedAccount(1m);
        using var host = new CliTestHost { PrimaryHandler = server.CreateHandler };
        host.Variables["MPP_PRIVATE_KEY"] = payer.PrivateKey;
        host.Variables["MPP_RPC_URL"] = server.RpcUrl.ToString();
        host.Variables["MPP_CHAIN_ID"] = server.ChainId.ToString(CultureInfo.InvariantCulture);

        var paid = await host.RunAsync("request", server.Url("session").ToString(), "--json");
        Assert.That(paid.ExitCode, Is.EqualTo(ExitCodes.Ok), paid.Output + paid.Error);
        var channelId = JsonNode.Parse(paid.Output)!["receipt"]!["reference"]!.GetValue<string>();

        var requested = await host.RunAsync("sessions", "request-close", channelId, "--json");
        Assert.That(requested.ExitCode, Is.EqualTo(ExitCodes.Ok), requested.Output + requested.Error);
        Assert.That(JsonNode.Parse(requested.Output)!["withdrawableAt"]!.GetValue<long>(), Is.EqualTo(server.Ledger.ChainTime + 900));

        var early = await host.RunAsync("sessions", "withdraw", channelId);
        Assert.That(early.ExitCode, Is.EqualTo(ExitCodes.Error), "no withdrawal before the grace period ends");
        Assert.That(early.Output, Does.Contain("grace period"));
        Assert.That(server.Ledger.BalanceOf(payer.Address), Is.EqualTo(new BigInteger(900_000)), "the deposit is still in the escrow");

        clock.Advance(TimeSpan.FromSeconds(901));
        var withdrawn = await host.RunAsync("sessions", "withdraw", channelId, "--json");
        Assert.That(withdrawn.ExitCode, Is.EqualTo(ExitCodes.Ok), withdrawn.Output + withdrawn.Error);
        var result = JsonNode.Parse(withdrawn.Output)!.AsArray().Single()!;
        // The server never settled the voucher on chain, so the whole deposit comes back.
        Assert.That((result["settledToPayee"]!.GetValue<string>(), result["refundedToPayer"]!.GetValue<string>()), Is.EqualTo(("0", "100000")));
        Assert.That(server.Ledger.BalanceOf(payer.Address), Is.EqualTo(new BigInteger(1_000_000)), "everything not settled on chain came back");
        Assert.That(server.Ledger.FindChannel(channelId)!.IsClosed, Is.True);
        var budget = JsonNode.Parse((await host.RunAsync("budget", "show", "--json")).Output)!;
        var row = budget["assets"]!.AsArray().Single(a => a!["symbol"]!.GetValue<string>() == "pathUSD")!;
        Assert.That(row["reserved"]!.GetValue<string>(), Is.EqualTo("0"), "the deposit's hold is released");
    }

    /// <summary>A clock moved by hand (the emulated chain's time).</summary>
    private sealed class ManualClock(DateTimeOffset now) : TimeProvider
    {
        private DateTimeOffset _now = now;

        public override DateTimeOffset GetUtcNow() => _now;

        public void Advance(TimeSpan by) => _now += by;
    }

    /// <summary>Lets the credentialed request reach the server (which settles), then holds the answer back.</summary>
    private sealed class StallAfterCredential(HttpMessageHandler inner) : DelegatingHandler(inner)
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = await base.SendAsync(request, cancellationToken);
            if (request.Headers.Authorization?.Scheme == "Payment")
            {
                response.Dispose();
                await Task.Delay(TimeSpan.FromSeconds(30), cancellationToken);
            }

            return response;
        }
    }
}
