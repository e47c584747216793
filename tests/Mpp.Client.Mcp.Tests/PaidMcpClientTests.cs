using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using ModelContextProtocol;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using Mpp.Client.Protocol;

namespace Mpp.Client.Mcp.Tests;

public sealed class PaidMcpClientTests
{
    private FakeMcpServer _server = null!;
    private TestMethod _method = null!;
    private ServiceProvider _services = null!;
    private PaidMcpClient _client = null!;
    private readonly List<PaymentContext> _approvals = [];

    [SetUp]
    public async Task SetUp()
    {
        _server = new FakeMcpServer();
        _method = new TestMethod();
        _approvals.Clear();
        _services = BuildServices(requireApproval: false, perRequest: 1m);
        _client = await ConnectAsync(_services);
    }

    [TearDown]
    public async Task TearDown()
    {
        await _client.DisposeAsync();
        await _services.DisposeAsync();
        _server.Dispose();
    }

    private ServiceProvider BuildServices(bool requireApproval, decimal perRequest)
    {
        var services = new ServiceCollection();
        services.AddMpp()
            .AddMethod(_method)
            .UseApprover(new Approver(_approvals))
            .AddMcp(o =>
            {
                o.AllowInsecureLoopback = true;
                o.RequireApproval = requireApproval;
                o.Budget.Limit(TestMethod.Coin, perRequest: perRequest, total: 10m);
            });
        return services.BuildServiceProvider();
    }

    private async Task<PaidMcpClient> ConnectAsync(ServiceProvider services)
    {
        var http = new HttpClient(PaidMcpClientFactory.CreateHttpHandler(_server));
        var transport = new HttpClientTransport(new HttpClientTransportOptions { Endpoint = FakeMcpServer.Endpoint, TransportMode = HttpTransportMode.StreamableHttp }, http, ownsHttpClient: true);
        var mcp = await McpClient.CreateAsync(transport);
        return services.GetRequiredService<PaidMcpClientFactory>().Create(mcp, FakeMcpServer.Endpoint);
    }

    private static JsonObject Challenge(string id, string tool, string amount = "25")
    {
        using var request = JsonDocument.Parse($$"""{"amount":"{{amount}}","currency":"xts","recipient":"merchant"}""");
        var challenge = JsonNode.Parse(PaymentChallenge.Create(id, "fake.test", "test", "charge", request.RootElement, description: "MCP tool " + tool).ToJson())!.AsObject();
        challenge["meta"] = new JsonObject { ["_mppx_scope"] = "tools/call:" + tool }; // an extra member, echoed back unchanged
        return challenge;
    }

    private static JsonObject Error(int code, JsonObject challenge, JsonObject? failure = null)
    {
        var data = new JsonObject
        {
            ["httpStatus"] = 402,
            ["challenges"] = new JsonArray(challenge),
            ["problem"] = new JsonObject { ["type"] = code == -32043 ? PaymentProblemTypes.VerificationFailed : PaymentProblemTypes.PaymentRequired, ["status"] = 402, ["challengeId"] = (string)challenge["id"]! },
        };
        if (failure is not null)
        {
            data["failure"] = failure;
        }

        return new JsonObject { ["error"] = new JsonObject { ["code"] = code, ["message"] = $"MCP error {code}: something", ["data"] = data } };
    }

    private static JsonObject Result(string text, string? challengeId)
    {
        var result = new JsonObject { ["content"] = new JsonArray(new JsonObject { ["type"] = "text", ["text"] = text }) };
        if (challengeId is not null)
        {
            result["_meta"] = new JsonObject
            {
                [JsonRpcPaymentCodes.ReceiptKey] = new JsonObject
                {
                    ["status"] = "success",
                    ["method"] = "test",
                    ["timestamp"] = "2026-11-21T00:00:00.000Z",
                    ["reference"] = "ref-" + challengeId,
                    ["challengeId"] = challengeId,
                },
            };
        }

        return new JsonObject { ["result"] = result };
    }

    private static JsonObject? Credential(JsonObject call) => call["_meta"]?[JsonRpcPaymentCodes.CredentialKey]?.AsObject();

    private static string Text(CallToolResult result) => string.Concat(result.Content.OfType<TextContentBlock>().Select(c => c.Text));

    [Test]
    public async Task A_free_tool_comes_back_as_is_with_no_payment()
    {
        _server.Tools = _ => Result("pong", null);

        var result = await _client.CallToolAsync("ping");

        Assert.That(Text(result.Result!), Is.EqualTo("pong"));
        Assert.That(result.Payment, Is.Null);
        Assert.That(_method.Signatures, Is.Zero);
    }

    [Test]
    public async Task A_tool_answered_with_minus_32042_is_paid_and_retried_with_the_challenge_echoed_unchanged_in_params_meta()
    {
        var challenge = Challenge("ch-1", "weather");
        _server.Tools = p => Credential(p) is null ? Error(-32042, challenge) : Result("sunny in " + (string)p["arguments"]!["city"]!, "ch-1");

        var result = await _client.CallToolAsync("weather", new Dictionary<string, object?> { ["city"] = "Berlin" });

        Assert.That(Text(result.Result!), Is.EqualTo("sunny in Berlin"));
        Assert.That(result.IsPaid, Is.True);
        Assert.That(result.Receipt!.Reference, Is.EqualTo("ref-ch-1"));
        Assert.That(result.Payment!.AmountPaid, Is.EqualTo(new AssetAmount(TestMethod.Coin.Id, 25)));
        Assert.That(_server.Calls, Has.Count.EqualTo(2));
        var credential = Credential(_server.Calls[1])!;
        Assert.That(JsonNode.DeepEquals(credential["challenge"], challenge), Is.True, credential["challenge"]!.ToJsonString());
        Assert.That((string)credential["payload"]!["proof"]!, Is.EqualTo("paid-ch-1"));
        Assert.That((string)credential["source"]!, Is.EqualTo("did:test:payer"));
        Assert.That((string)_server.Calls[1]["arguments"]!["city"]!, Is.EqualTo("Berlin"), "the retry is the same call");

        var receipts = await _services.GetRequiredService<IReceiptStore>().GetAllAsync(default);
        Assert.That(receipts.Single().Reference, Is.EqualTo("ref-ch-1"));
        Assert.That(receipts.Single().Path, Is.EqualTo("/mcp#tools/call:weather"));
        var spent = await _services.GetRequiredService<ISpendLedger>().GetSummaryAsync("mcp", TestMethod.Coin.Id, default);
        Assert.That(spent.Committed, Is.EqualTo(new System.Numerics.BigInteger(25)));
        Assert.That(_method.Settlements.Single().Outcome, Is.EqualTo(PaymentOutcome.Settled));
    }

    [Test]
    public async Task The_approver_sees_the_tool_name_and_its_arguments()
    {
        await _client.DisposeAsync();
        await _services.DisposeAsync();
        _services = BuildServices(requireApproval: true, perRequest: 1m);
        _client = await ConnectAsync(_services);
        _server.Tools = p => Credential(p) is null ? Error(-32042, Challenge("ch-2", "weather")) : Result("ok", "ch-2");

        await _client.CallToolAsync("weather", new Dictionary<string, object?> { ["city"] = "Oslo", ["days"] = 3 });

        var context = _approvals.Single();
        Assert.That(context.Operation, Is.Not.Null);
        Assert.That(context.Operation!.Transport, Is.EqualTo(PaymentOperation.Mcp));
        Assert.That(context.Operation.Scope, Is.EqualTo("tools/call:weather"));
        Assert.That(context.Operation.Name, Is.EqualTo("weather"));
        Assert.That(context.Operation.Arguments!.Value.GetProperty("city").GetString(), Is.EqualTo("Oslo"));
        Assert.That(context.Operation.Arguments.Value.GetProperty("days").GetInt32(), Is.EqualTo(3));
        Assert.That(context.RequestUri, Is.EqualTo(FakeMcpServer.Endpoint));
    }

    [Test]
    public async Task A_verification_failure_is_paid_once_more_with_the_fresh_challenge_then_becomes_a_typed_rejection()
    {
        var round = 0;
        _server.Tools = p =>
        {
            round++;
            var fresh = Challenge("ch-v" + round, "weather");
            return Credential(p) is null ? Error(-32042, fresh) : Error(-32043, fresh, new JsonObject { ["reason"] = "replayed" });
        };

        var ex = Assert.ThrowsAsync<JsonRpcPaymentException>(() => _client.CallToolAsync("weather"));

        Assert.That(ex!.ErrorCode, Is.EqualTo(JsonRpcPaymentCodes.VerificationFailed));
        Assert.That(ex.IsVerificationFailure, Is.True);
        Assert.That(ex.FailureReason, Is.EqualTo("replayed"));
        Assert.That(ex.Problem?.Type, Is.EqualTo(PaymentProblemTypes.VerificationFailed));
        Assert.That(ex.Details!.Rounds, Is.EqualTo(2));
        Assert.That(_method.Signatures, Is.EqualTo(2));
        Assert.That(_method.Settlements.Select(s => s.Outcome), Is.EqualTo(new[] { PaymentOutcome.Rejected, PaymentOutcome.Rejected }));
        Assert.That(Credential(_server.Calls[2])!["challenge"]!["id"]!.GetValue<string>(), Is.EqualTo("ch-v2"), "the second credential answers the fresh challenge");
    }

    [Test]
    public async Task A_payment_required_tool_result_is_paid_the_same_way_as_the_error()
    {
        var challenge = Challenge("ch-m", "weather_meta");
        _server.Tools = p => Credential(p) is null
            ? new JsonObject
            {
                ["result"] = new JsonObject
                {
                    ["isError"] = true,
                    ["content"] = new JsonArray(new JsonObject { ["type"] = "text", ["text"] = "Payment required" }),
                    ["_meta"] = new JsonObject { [JsonRpcPaymentCodes.PaymentRequiredKey] = new JsonObject { ["httpStatus"] = 402, ["challenges"] = new JsonArray(challenge) } },
                },
            }
            : Result("paid weather", "ch-m");

        var result = await _client.CallToolAsync("weather_meta");

        Assert.That(Text(result.Result!), Is.EqualTo("paid weather"));
        Assert.That(result.IsPaid, Is.True);
        Assert.That(JsonNode.DeepEquals(Credential(_server.Calls[1])!["challenge"], challenge), Is.True);
    }

    [Test]
    public async Task A_payment_over_the_budget_is_refused_before_anything_is_signed()
    {
        _server.Tools = p => Credential(p) is null ? Error(-32042, Challenge("ch-big", "weather", amount: "500")) : Result("never", "ch-big");

        var ex = Assert.ThrowsAsync<PaymentDeniedException>(() => _client.CallToolAsync("weather"));

        Assert.That(ex!.Rule, Does.StartWith("budget."));
        Assert.That(_method.Signatures, Is.Zero);
        Assert.That(_server.Calls, Has.Count.EqualTo(1));
    }

    [Test]
    public async Task A_malformed_credential_error_after_paying_is_a_typed_failure_and_the_money_stays_counted()
    {
        _server.Tools = p => Credential(p) is null
            ? Error(-32042, Challenge("ch-x", "weather"))
            : new JsonObject { ["error"] = new JsonObject { ["code"] = -32602, ["message"] = "bad credential" } };

        var ex = Assert.ThrowsAsync<JsonRpcPaymentException>(() => _client.CallToolAsync("weather"));

        Assert.That(ex!.ErrorCode, Is.EqualTo(JsonRpcPaymentCodes.InvalidParams));
        Assert.That(_method.Settlements.Single().Outcome, Is.EqualTo(PaymentOutcome.Unknown));
        var held = await _services.GetRequiredService<ISpendLedger>().GetSummaryAsync("mcp", TestMethod.Coin.Id, default);
        Assert.That(held.Committed + held.Reserved + held.Unknown, Is.EqualTo(new System.Numerics.BigInteger(25)));
    }

    [Test]
    public void Challenges_kept_in_an_exceptions_data_are_read_by_code_not_by_message()
    {
        var challenge = Challenge("ch-d", "weather");
        var exception = new McpProtocolException("something unrelated", (McpErrorCode)JsonRpcPaymentCodes.PaymentRequired);
        using var challenges = JsonDocument.Parse(new JsonArray(challenge).ToJsonString());
        exception.Data["challenges"] = challenges.RootElement.Clone();

        Assert.That(McpPaymentError.TryRead(new InvalidOperationException("wrapper", exception), credentialSent: false, out var code, out var data), Is.True);
        Assert.That(code, Is.EqualTo(-32042));
        Assert.That(data.Challenges.Single().Id, Is.EqualTo("ch-d"));
        Assert.That(data.TryGetRaw("ch-d", out var raw) && raw.TryGetProperty("meta", out _), Is.True);
    }

    private sealed class Approver(List<PaymentContext> seen) : IPaymentApprover
    {
        public ValueTask<bool> ApproveAsync(PaymentQuote quote, PaymentContext context, CancellationToken cancellationToken)
        {
            seen.Add(context);
            return ValueTask.FromResult(true);
        }
    }
}
