using System.Numerics;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using Mpp.Client.Protocol;
using Mpp.Client.Tempo;
using Mpp.Client.Testing;

namespace Mpp.Client.Mcp.Tests;

/// <summary>
/// <see cref="PaidMcpClient"/> against an MCP server built on the MCP C# SDK's server side (<see cref="KitMcpServer"/>),
/// paid with real Tempo credentials that the test kit verifies and settles on its emulated chain: nothing on the payment
/// path is stubbed, and the kit's ledger is the judge of what moved. Run with the SDK's newest revision (the client
/// discovers the server and sends per-request metadata) and pinned to 2025-11-25 (the <c>initialize</c> handshake, as
/// mppx's MCP server speaks).
/// </summary>
[TestFixture(null)]
[TestFixture("2025-11-25")]
[NonParallelizable]
public sealed class KitMcpServerTests(string? protocolVersion)
{
    private static readonly BigInteger Funded = 1_000_000; // 1 pathUSD
    private MppTestServer _kit = null!;
    private KitMcpServer _mcp = null!;
    private TestDevAccount _payer = null!;
    private ServiceProvider _services = null!;
    private PaidMcpClient _client = null!;
    private readonly List<PaymentContext> _approvals = [];

    [SetUp]
    public async Task SetUp()
    {
        _approvals.Clear();
        _kit = await MppTestServer.StartAsync();
        _payer = _kit.CreateFundedAccount(1m);
        McpServerTool[] tools =
        [
            McpServerTool.Create(() => "pong", new McpServerToolCreateOptions { Name = "ping" }),
            McpServerTool.Create((string city) => $"sunny in {city}", new McpServerToolCreateOptions { Name = "weather" }),
            McpServerTool.Create((string text) => $"echo: {text}", new McpServerToolCreateOptions { Name = "echo" }),
        ];
        _mcp = await KitMcpServer.StartAsync(_kit, tools, new Dictionary<string, TestRoute>
        {
            ["weather"] = TestRoute.Charge(0.01m, "Weather for a city"),
            ["echo"] = TestRoute.Session(0.001m, suggestedDeposit: 0.1m),
        }, protocolVersion);

        var services = new ServiceCollection();
        services.AddMpp()
            .AddTempo(o =>
            {
                o.Signer = _payer.CreateSigner();
                o.RpcUrl = _kit.RpcUrl;
                o.ChainId = _kit.ChainId;
                o.RpcRetries = 0;
            })
            .AddTempoSessions(o => o.CloseOnShutdown = false)
            .UseApprover(new Approver(_approvals))
            .AddMcp(o =>
            {
                o.AllowInsecureLoopback = true; // Kestrel serves plain HTTP on 127.0.0.1
                o.RequireApproval = true;
                o.Budget.Limit(TempoAssets.PathUsdOn(_kit.ChainId), perRequest: 0.05m, total: 0.5m);
            });
        _services = services.BuildServiceProvider();
        _client = await _services.GetRequiredService<PaidMcpClientFactory>().ConnectAsync(_mcp.Endpoint);
    }

    [TearDown]
    public async Task TearDown()
    {
        await _client.DisposeAsync();
        await _services.DisposeAsync();
        await _mcp.DisposeAsync();
        await _kit.DisposeAsync();
    }

    private static Dictionary<string, object?> Args(string name, string value) => new() { [name] = value };

    private static string Text(CallToolResult result) => string.Concat(result.Content.OfType<TextContentBlock>().Select(c => c.Text));

    [Test]
    public async Task A_free_tool_is_called_without_paying_and_nothing_moves_on_the_kit_chain()
    {
        var free = await _client.CallToolAsync("ping");

        Assert.That(Text(free.Result!), Is.EqualTo("pong"));
        Assert.That(free.Payment, Is.Null);
        Assert.That(_mcp.Credentials, Is.Empty);
        Assert.That(_approvals, Is.Empty);
        Assert.That(_kit.Ledger.BalanceOf(_payer.Address), Is.EqualTo(Funded));
        Assert.That(_mcp.Methods, protocolVersion is null ? Does.Contain("server/discover") : Does.Contain("initialize"));
    }

    [Test]
    public async Task A_charged_tool_is_paid_once_the_receipt_comes_in_meta_and_the_kit_ledger_shows_the_payer_debited_exactly()
    {
        var paid = await _client.CallToolAsync("weather", Args("city", "Berlin"));

        Assert.That(paid.IsPaid, Is.True);
        Assert.That(Text(paid.Result!), Is.EqualTo("sunny in Berlin"));
        Assert.That(paid.Payment!.Challenge!.Opaque, Is.Not.Null, "the challenge is bound to tools/call:weather");
        var receipt = paid.Receipt;
        Assert.That(receipt, Is.Not.Null, "result._meta[org.paymentauth/receipt]");
        Assert.That(receipt!.Method, Is.EqualTo("tempo"));
        Assert.That(receipt.TryGetMember("challengeId", out var challengeId), Is.True);
        Assert.That(challengeId.GetString(), Is.EqualTo(paid.Payment.Challenge.Id));
        Assert.That(paid.Payment.AmountPaid!.Value.Units, Is.EqualTo(new BigInteger(10_000)));

        var payment = _kit.Ledger.Payments.Single();
        Assert.That((payment.TransactionHash, payment.ChallengeId, payment.Amount), Is.EqualTo((receipt.Reference, paid.Payment.Challenge.Id, new BigInteger(10_000))));
        Assert.That(_kit.Ledger.BalanceOf(_payer.Address), Is.EqualTo(Funded - 10_000));
        Assert.That(_kit.Ledger.BalanceOf(_kit.Payee), Is.EqualTo(new BigInteger(10_000)));
        Assert.That(_mcp.ToolRuns, Is.EqualTo(1));
        Assert.That(_mcp.Credentials, Has.Count.EqualTo(1), "one credential: paid once");

        var approval = _approvals.Single();
        Assert.That(approval.Operation?.Name, Is.EqualTo("weather"));
        Assert.That(approval.Operation?.Arguments?.GetProperty("city").GetString(), Is.EqualTo("Berlin"));
        var spent = await _services.GetRequiredService<ISpendLedger>().GetSummaryAsync(McpMppBuilderExtensions.DefaultName, TempoAssets.PathUsdOn(_kit.ChainId).Id, default);
        Assert.That(spent.Committed, Is.EqualTo(new BigInteger(10_000)));
        var stored = await _services.GetRequiredService<IReceiptStore>().GetAllAsync(default);
        Assert.That(stored.Single().Reference, Is.EqualTo(receipt.Reference));
    }

    [Test]
    public async Task A_replayed_credential_is_refused_with_minus_32043_a_fresh_challenge_and_a_problem_and_nothing_moves_twice()
    {
        var paid = await _client.CallToolAsync("weather", Args("city", "Oslo"));
        var replayed = _mcp.Credentials.Single();

        var ex = Assert.ThrowsAsync<McpProtocolException>(async () => await _client.Client.CallToolAsync(
            "weather", Args("city", "Oslo"), progress: null, new RequestOptions { Meta = new JsonObject { [JsonRpcPaymentCodes.CredentialKey] = replayed } }));

        Assert.That(McpPaymentError.TryRead(ex!, credentialSent: true, out var code, out var data), Is.True, ex!.ToString());
        Assert.That(code, Is.EqualTo(JsonRpcPaymentCodes.VerificationFailed));
        Assert.That(data.Problem?.Type, Is.EqualTo(PaymentProblemTypes.InvalidChallenge));
        Assert.That(data.Problem?.Detail, Does.Contain("already used"));
        Assert.That(data.FailureReason, Is.EqualTo("invalid-challenge"));
        var fresh = data.Challenges.Single();
        Assert.That(fresh.Id, Is.Not.EqualTo(paid.Payment!.Challenge!.Id), "a fresh challenge");
        Assert.That(fresh.Opaque, Is.EqualTo(paid.Payment.Challenge.Opaque), "bound to the same tool");
        Assert.That(_kit.Ledger.Payments, Has.Count.EqualTo(1));
        Assert.That(_kit.Ledger.BalanceOf(_payer.Address), Is.EqualTo(Funded - 10_000), "debited once");
        Assert.That(_mcp.ToolRuns, Is.EqualTo(1), "the replay did not run the tool");
    }

    [Test]
    public async Task A_credential_for_one_tool_is_refused_by_another_tool_of_the_same_price()
    {
        await using var other = await KitMcpServer.StartAsync(_kit, [McpServerTool.Create((string city) => city, new McpServerToolCreateOptions { Name = "forecast" })], new Dictionary<string, TestRoute>
        {
            ["forecast"] = TestRoute.Charge(0.01m, "Weather for a city"),
        }, protocolVersion);
        var challenge = _kit.Payments.IssueChallenge(TestRoute.Charge(0.01m, "Weather for a city"), "tools/call:weather");
        var credential = new JsonObject { ["challenge"] = JsonNode.Parse(challenge.ToJson()), ["payload"] = new JsonObject { ["type"] = "hash", ["hash"] = "0x" + new string('1', 64) } };
        await using var raw = await _services.GetRequiredService<PaidMcpClientFactory>().ConnectAsync(other.Endpoint);

        var ex = Assert.ThrowsAsync<McpProtocolException>(async () => await raw.Client.CallToolAsync(
            "forecast", Args("city", "Lima"), progress: null, new RequestOptions { Meta = new JsonObject { [JsonRpcPaymentCodes.CredentialKey] = credential } }));

        Assert.That(McpPaymentError.TryRead(ex!, credentialSent: true, out var code, out var data), Is.True);
        Assert.That(code, Is.EqualTo(JsonRpcPaymentCodes.VerificationFailed));
        Assert.That(data.Problem?.Detail, Does.Contain("another route or scope"));
        Assert.That(other.ToolRuns, Is.Zero);
    }

    [Test]
    public async Task A_session_billed_tool_is_paid_three_times_on_one_channel_then_closed_with_settlement_and_refund_on_the_kit_ledger()
    {
        var manager = _services.GetRequiredService<TempoSessionManager>();
        string? channelId = null;
        for (var i = 1; i <= 3; i++)
        {
            var paid = await _client.CallToolAsync("echo", Args("text", $"hello {i}"));
            Assert.That(paid.IsPaid, Is.True, $"call {i}");
            Assert.That(Text(paid.Result!), Is.EqualTo($"echo: hello {i}"));
            Assert.That(paid.Receipt, Is.Not.Null, $"call {i} has no receipt");
            channelId ??= paid.Receipt!.Reference;
            Assert.That(paid.Receipt!.Reference, Is.EqualTo(channelId), "every call uses the one channel");
            Assert.That(paid.Receipt.TryGetMember("spent", out var spent) ? spent.GetString() : null, Is.EqualTo((i * 1000).ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }

        var open = _kit.Ledger.FindChannel(channelId!)!;
        Assert.That((open.Deposit, open.AcceptedCumulative, open.Spent, open.Units), Is.EqualTo((new BigInteger(100_000), new BigInteger(3_000), new BigInteger(3_000), 3L)));
        Assert.That(_kit.Ledger.BalanceOf(_payer.Address), Is.EqualTo(Funded - 100_000), "the deposit sits in the escrow");
        Assert.That(_mcp.ToolRuns, Is.EqualTo(3));

        var closed = await manager.CloseAsync(channelId!);

        Assert.That((closed.SettledToPayee, closed.RefundedToPayer), Is.EqualTo((new BigInteger(3_000), new BigInteger(97_000))));
        var after = _kit.Ledger.FindChannel(channelId!)!;
        Assert.That(after.IsClosed, Is.True);
        Assert.That(after.CloseTransaction, Is.EqualTo(closed.TransactionHash));
        Assert.That((after.Settled, after.RefundedToPayer), Is.EqualTo((new BigInteger(3_000), new BigInteger(97_000))));
        Assert.That(_kit.Ledger.BalanceOf(_payer.Address), Is.EqualTo(Funded - 3_000));
        Assert.That(_kit.Ledger.BalanceOf(_kit.Payee), Is.EqualTo(new BigInteger(3_000)));
        Assert.That(_kit.Ledger.BalanceOf(_kit.Ledger.Escrow), Is.EqualTo(BigInteger.Zero));
        Assert.That(_mcp.ToolRuns, Is.EqualTo(3), "the close rode on a tools/call of echo without running it");
        Assert.That((string?)_mcp.Credentials[^1]["payload"]?["action"], Is.EqualTo("close"));
        Assert.That(manager.VouchersRejected, Is.Zero);
        Assert.That(_approvals.Select(c => c.Operation?.Name), Has.All.EqualTo("echo"));
    }

    private sealed class Approver(List<PaymentContext> seen) : IPaymentApprover
    {
        public ValueTask<bool> ApproveAsync(PaymentQuote quote, PaymentContext context, CancellationToken cancellationToken)
        {
            lock (seen)
            {
                seen.Add(context);
            }

            return ValueTask.FromResult(true);
        }
    }
}
