using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Mpp.Client.Protocol;
using Mpp.Client.Tempo.Charge;
using RichardSzalay.MockHttp;

namespace Mpp.Client.Tempo.Tests;

/// <summary>A clock fixed where the test puts it.</summary>
internal sealed class FixedTime(DateTimeOffset now) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => now;
}

/// <summary>Tempo charge credentials, byte for byte against mppx's own client.</summary>
public sealed class ChargeTests
{
    private const string DevKey0 = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
    private static readonly Uri Rpc = new("http://127.0.0.1:18545/");

    /// <summary>A chain RPC answering from fixed values and recording the requests.</summary>
    private static MockHttpMessageHandler Chain(JsonNode fillResult, List<JsonNode> requests, string chainId = "0x539")
    {
        var mock = new MockHttpMessageHandler();
        mock.When(HttpMethod.Post, Rpc.ToString()).Respond(request =>
        {
            var body = JsonNode.Parse(request.Content!.ReadAsStringAsync().Result)!;
            requests.Add(body);
            JsonNode? result = body["method"]!.GetValue<string>() switch
            {
                "eth_fillTransaction" => fillResult.DeepClone(),
                "eth_chainId" => chainId,
                var other => throw new InvalidOperationException("unexpected RPC " + other),
            };
            return new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(new JsonObject { ["jsonrpc"] = "2.0", ["id"] = body["id"]!.DeepClone(), ["result"] = result }.ToJsonString(), Encoding.UTF8, "application/json") };
        });
        mock.Fallback.Throw(new InvalidOperationException("unexpected request"));
        return mock;
    }

    private static TempoChargeMethod Method(MockHttpMessageHandler chain, long validAfter, Action<TempoOptions>? configure = null)
    {
        var options = new TempoOptions { Signer = PrivateKeySigner.FromHex(DevKey0), RpcUrl = Rpc };
        configure?.Invoke(options);
        return new TempoChargeMethod(options, new HttpClient(chain), new FixedTime(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero)), _ => validAfter);
    }

    private static readonly PaymentContext Context = new("c", HttpMethod.Get, new Uri("http://127.0.0.1:8402/paid"), 1);

    [Test]
    public async Task The_charge_credential_is_byte_identical_to_the_reference_clients()
    {
        var vector = Vectors.Load("charge.json");
        var fixedFill = vector.GetProperty("inputs").GetProperty("fixedRpc").GetProperty("eth_fillTransaction");
        var fill = new JsonObject
        {
            ["raw"] = "0x",
            ["tx"] = new JsonObject
            {
                ["gas"] = fixedFill.GetProperty("gas").GetString(),
                ["maxFeePerGas"] = fixedFill.GetProperty("maxFeePerGas").GetString(),
                ["maxPriorityFeePerGas"] = fixedFill.GetProperty("maxPriorityFeePerGas").GetString(),
                ["feeToken"] = "0x20c0000000000000000000000000000000000000",
            },
        };
        var requests = new List<JsonNode>();
        var method = Method(Chain(fill, requests), vector.GetProperty("transaction").GetProperty("decoded").GetProperty("validAfter").GetInt64());
        var challenge = PaymentChallenge.Parse(vector.GetProperty("challenge").GetProperty("wwwAuthenticate").GetString()!);

        var quote = await method.QuoteAsync(challenge, Context, default);
        var credential = await method.CreateCredentialAsync(quote, Context, default);

        Assert.That(credential.ToHeaderValue(), Is.EqualTo(vector.GetProperty("credential").GetProperty("authorization").GetString()));
        Assert.That(credential.Payload.GetProperty("signature").GetString(), Is.EqualTo(vector.GetProperty("transaction").GetProperty("serialized").GetString()));
        Assert.That(requests.Select(r => r["method"]!.GetValue<string>()), Is.EqualTo(new[] { "eth_fillTransaction", "eth_chainId" }));
        Assert.That(quote.Amount, Is.EqualTo(new AssetAmount(TempoAssets.PathUsdOn(1337).Id, 10000)));
        Assert.That(quote.Recipients, Is.EqualTo(new[] { "0x70997970C51812dc3A010C7d01b50e0d17dc79C8" }));
    }

    [Test]
    public async Task The_fee_sponsored_credential_is_the_0x78_hand_off_byte_identical_to_the_reference_clients()
    {
        var vector = Vectors.Load("charge-sponsored.json");
        var exchange = vector.GetProperty("inputs").GetProperty("rpcExchanges")[0];
        var requests = new List<JsonNode>();
        var method = Method(Chain(JsonNode.Parse(exchange.GetProperty("result").GetRawText())!, requests), vector.GetProperty("transaction").GetProperty("decoded").GetProperty("validAfter").GetInt64());
        var challenge = PaymentChallenge.Parse(vector.GetProperty("challenge").GetProperty("wwwAuthenticate").GetString()!);

        var credential = await method.CreateCredentialAsync(await method.QuoteAsync(challenge, Context, default), Context, default);

        Assert.That(credential.ToHeaderValue(), Is.EqualTo(vector.GetProperty("credential").GetProperty("authorization").GetString()));
        Assert.That(credential.Payload.GetProperty("signature").GetString(), Does.StartWith("0x78"));
        var expectedFill = JsonNode.Parse(exchange.GetProperty("request").GetProperty("params").GetRawText())!;
        Assert.That(JsonNode.DeepEquals(requests[0]["params"], expectedFill), Is.True, $"fill request {requests[0]["params"]!.ToJsonString()}");
    }

    [Test]
    public async Task A_zero_amount_challenge_is_answered_with_a_proof_and_needs_no_chain()
    {
        var requests = new List<JsonNode>();
        var method = Method(Chain(new JsonObject(), requests), 0);
        using var request = JsonDocument.Parse("""{"amount":"0","currency":"0x20c0000000000000000000000000000000000000","recipient":"0x70997970C51812dc3A010C7d01b50e0d17dc79C8","methodDetails":{"chainId":1337}}""");
        var challenge = PaymentChallenge.Create("ch_zero", "interop.local", "tempo", "charge", request.RootElement, "2026-01-01T00:05:00Z");

        var credential = await method.CreateCredentialAsync(await method.QuoteAsync(challenge, Context, default), Context, default);

        Assert.That(credential.Payload.GetProperty("type").GetString(), Is.EqualTo("proof"));
        Assert.That(credential.Source!.Value.GetString(), Is.EqualTo("did:pkh:eip155:1337:0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"));
        var digest = ZeroAmountProof.Digest(ZeroAmountProof.TypedData(1337, EvmAddress.Parse("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"), "ch_zero", "interop.local"));
        var signature = EvmSignature.FromRsv(Evm.Hex.Decode(credential.Payload.GetProperty("signature").GetString()!));
        Assert.That(signature.RecoverAddress(digest).ToString(), Is.EqualTo("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"));
        Assert.That(requests, Is.Empty);
    }

    [TestCase("""{"amount":"1.5","currency":"0x20c0000000000000000000000000000000000000","recipient":"0x70997970C51812dc3A010C7d01b50e0d17dc79C8"}""")]
    [TestCase("""{"amount":"100","currency":"USD","recipient":"0x70997970C51812dc3A010C7d01b50e0d17dc79C8"}""")]
    [TestCase("""{"amount":"100","currency":"0x20c0000000000000000000000000000000000000"}""")]
    [TestCase("""{"amount":"100","currency":"0x20c0000000000000000000000000000000000000","recipient":"0x70997970c51812dc3A010C7d01b50e0d17dc79C8"}""")]
    [TestCase("""{"amount":"100","currency":"0x20c0000000000000000000000000000000000000","recipient":"0x70997970C51812dc3A010C7d01b50e0d17dc79C8","methodDetails":{"chainId":"1337"}}""")]
    [TestCase("""{"amount":"100","currency":"0x20c0000000000000000000000000000000000000","recipient":"0x70997970C51812dc3A010C7d01b50e0d17dc79C8","methodDetails":{"splits":[{"amount":"100","recipient":"0x70997970C51812dc3A010C7d01b50e0d17dc79C8"}]}}""")]
    [TestCase("""{"amount":"100","currency":"0x20c0000000000000000000000000000000000000","recipient":"0x70997970C51812dc3A010C7d01b50e0d17dc79C8","methodDetails":{"memo":"0x1234"}}""")]
    public void An_invalid_tempo_request_is_refused_before_signing(string requestJson)
    {
        var method = Method(Chain(new JsonObject(), []), 0);
        using var request = JsonDocument.Parse(requestJson);
        var challenge = PaymentChallenge.Create("ch", "r", "tempo", "charge", request.RootElement);

        var ex = Assert.ThrowsAsync<PaymentDeniedException>(async () => await method.QuoteAsync(challenge, Context, default));

        Assert.That(ex!.Rule, Is.EqualTo("method.invalid-request"));
    }

    [Test]
    public void The_chain_pin_and_currency_allow_list_are_enforced_at_quote_time()
    {
        using var request = JsonDocument.Parse("""{"amount":"100","currency":"0x20c0000000000000000000000000000000000000","recipient":"0x70997970C51812dc3A010C7d01b50e0d17dc79C8","methodDetails":{"chainId":1337}}""");
        var challenge = PaymentChallenge.Create("ch", "r", "tempo", "charge", request.RootElement);

        var pinned = Method(Chain(new JsonObject(), []), 0, o => o.ChainId = 4217);
        var allowList = Method(Chain(new JsonObject(), []), 0, o => o.AllowedCurrencies.Add("0x20C000000000000000000000b9537d11c60E8b50"));

        Assert.That(Assert.ThrowsAsync<PaymentDeniedException>(async () => await pinned.QuoteAsync(challenge, Context, default))!.Rule, Is.EqualTo("tempo.chain"));
        Assert.That(Assert.ThrowsAsync<PaymentDeniedException>(async () => await allowList.QuoteAsync(challenge, Context, default))!.Rule, Is.EqualTo("tempo.currency"));
    }

    [Test]
    public async Task An_rpc_serving_another_chain_stops_the_payment_before_signing()
    {
        var vector = Vectors.Load("charge.json");
        var fill = new JsonObject { ["tx"] = new JsonObject { ["gas"] = "0x1", ["maxFeePerGas"] = "0x1", ["maxPriorityFeePerGas"] = "0x1" } };
        var method = Method(Chain(fill, [], chainId: "0x1"), 1);
        var challenge = PaymentChallenge.Parse(vector.GetProperty("challenge").GetProperty("wwwAuthenticate").GetString()!);
        var quote = await method.QuoteAsync(challenge, Context, default);

        var ex = Assert.ThrowsAsync<PaymentDeniedException>(async () => await method.CreateCredentialAsync(quote, Context, default));

        Assert.That(ex!.Rule, Is.EqualTo("tempo.chain"));
    }

    [Test]
    public async Task Splits_add_one_call_each_and_the_primary_gets_the_rest_with_the_memo()
    {
        var fill = new JsonObject { ["tx"] = new JsonObject { ["gas"] = "0x1", ["maxFeePerGas"] = "0xa", ["maxPriorityFeePerGas"] = "0x1" } };
        var requests = new List<JsonNode>();
        var method = Method(Chain(fill, requests), 1);
        using var request = JsonDocument.Parse("""{"amount":"1000","currency":"0x20c0000000000000000000000000000000000000","recipient":"0x70997970C51812dc3A010C7d01b50e0d17dc79C8","methodDetails":{"chainId":1337,"splits":[{"amount":"300","recipient":"0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"}]}}""");
        var challenge = PaymentChallenge.Create("ch_split", "interop.local", "tempo", "charge", request.RootElement, "2026-01-01T00:05:00Z");

        var quote = await method.QuoteAsync(challenge, Context, default);
        await method.CreateCredentialAsync(quote, Context, default);

        var calls = requests[0]["params"]![0]!["calls"]!.AsArray();
        Assert.That(quote.Recipients, Has.Count.EqualTo(2));
        Assert.That(calls, Has.Count.EqualTo(2));
        Assert.That(calls[0]!["data"]!.GetValue<string>(), Does.StartWith("0x95777d59").And.Contain("00000000000000000000000000000000000000000000000000000000000002bc"));
        Assert.That(calls[1]!["data"]!.GetValue<string>(), Does.StartWith("0xa9059cbb").And.EndWith("000000000000000000000000000000000000000000000000000000000000012c"));
    }
}
