using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Mpp.Client.Protocol;

namespace Mpp.Client.Mcp.Tests;

public sealed class JsonRpcPaymentHandlerTests
{
    private static readonly Uri Endpoint = new("http://127.0.0.1:9/rpc");

    private static (ServiceProvider Services, HttpClient Client, FakeRpc Server, TestMethod Method) Build()
    {
        var server = new FakeRpc();
        var method = new TestMethod();
        var services = new ServiceCollection();
        services.AddMpp().AddMethod(method);
        services.AddHttpClient("rpc").AddMppJsonRpcPayments(o =>
        {
            o.AllowInsecureLoopback = true;
            o.Budget.Limit(TestMethod.Coin, perRequest: 1m, total: 10m);
        }).ConfigurePrimaryHttpMessageHandler(() => server);
        var provider = services.BuildServiceProvider();
        return (provider, provider.GetRequiredService<IHttpClientFactory>().CreateClient("rpc"), server, method);
    }

    private static JsonObject Challenge(string id)
    {
        using var request = System.Text.Json.JsonDocument.Parse("""{"amount":"40","currency":"xts"}""");
        return JsonNode.Parse(PaymentChallenge.Create(id, "rpc.test", "test", "charge", request.RootElement).ToJson())!.AsObject();
    }

    [Test]
    public async Task A_call_answered_with_minus_32042_is_paid_with_the_credential_in_the_root_meta_under_a_new_id_and_answered_with_the_callers_id()
    {
        var (services, client, server, method) = Build();
        using var _ = services;
        var challenge = Challenge("rpc-1");
        server.Answer = m => m["_meta"]?[JsonRpcPaymentCodes.CredentialKey] is null
            ? new JsonObject { ["error"] = new JsonObject { ["code"] = -32042, ["message"] = "Payment Required", ["data"] = new JsonObject { ["httpStatus"] = 402, ["challenges"] = new JsonArray(challenge.DeepClone()) } } }
            : new JsonObject
            {
                ["result"] = new JsonObject { ["block"] = 42 },
                ["_meta"] = new JsonObject { [JsonRpcPaymentCodes.ReceiptKey] = new JsonObject { ["status"] = "success", ["method"] = "test", ["timestamp"] = "2026-11-21T00:00:00Z", ["reference"] = "r-1", ["challengeId"] = "rpc-1" } },
            };

        using var response = await client.PostAsync(Endpoint, new StringContent("""{"jsonrpc":"2.0","id":7,"method":"eth_blockNumber","params":[1,2]}""", Encoding.UTF8, "application/json"));

        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.That((int)body["result"]!["block"]!, Is.EqualTo(42));
        Assert.That((int)body["id"]!, Is.EqualTo(7), "the caller's id");
        Assert.That(response.GetPaymentReceipt()?.Reference, Is.EqualTo("r-1"));
        Assert.That(response.GetPaymentDetails()!.IsPaid, Is.True);
        Assert.That(server.Messages, Has.Count.EqualTo(2));
        var retry = server.Messages[1];
        Assert.That(retry["id"]!.ToJsonString(), Is.Not.EqualTo("7"), "a retry is a new request");
        Assert.That(retry["params"]!.ToJsonString(), Is.EqualTo("[1,2]"), "array params stay as they are");
        Assert.That(JsonNode.DeepEquals(retry["_meta"]![JsonRpcPaymentCodes.CredentialKey]!["challenge"], challenge), Is.True);
        Assert.That(method.Signatures, Is.EqualTo(1));
    }

    [Test]
    public async Task Notifications_and_answers_without_payment_pass_through_untouched()
    {
        var (services, client, server, method) = Build();
        using var _ = services;
        server.Answer = _ => new JsonObject { ["result"] = "free" };

        using var free = await client.PostAsync(Endpoint, new StringContent("""{"jsonrpc":"2.0","id":"a","method":"ping"}""", Encoding.UTF8, "application/json"));
        using var notification = await client.PostAsync(Endpoint, new StringContent("""{"jsonrpc":"2.0","method":"note"}""", Encoding.UTF8, "application/json"));

        Assert.That((string)JsonNode.Parse(await free.Content.ReadAsStringAsync())!["result"]!, Is.EqualTo("free"));
        Assert.That(free.GetPaymentDetails(), Is.Null);
        Assert.That(notification.StatusCode, Is.EqualTo(HttpStatusCode.Accepted));
        Assert.That(method.Signatures, Is.Zero);
    }

    private sealed class FakeRpc : HttpMessageHandler
    {
        public List<JsonObject> Messages { get; } = [];

        public Func<JsonObject, JsonObject> Answer { get; set; } = _ => new JsonObject();

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var message = JsonNode.Parse(await request.Content!.ReadAsStringAsync(cancellationToken))!.AsObject();
            Messages.Add(message);
            if (message["id"] is null)
            {
                return new HttpResponseMessage(HttpStatusCode.Accepted);
            }

            var answer = Answer(message);
            answer["jsonrpc"] = "2.0";
            answer["id"] = message["id"]!.DeepClone();
            return new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(answer.ToJsonString(), Encoding.UTF8, "application/json") };
        }
    }
}
