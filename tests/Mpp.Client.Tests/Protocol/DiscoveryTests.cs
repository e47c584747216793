using System.Net;
using System.Numerics;
using System.Text;
using System.Text.Json;

namespace Mpp.Client.Tests.Protocol;

public sealed class DiscoveryTests
{
    private const string Document = """
        {
          "openapi": "3.1.0",
          "info": { "title": "Weather", "version": "1.2.0" },
          "x-service-info": { "categories": ["data", "search"], "docs": { "apiReference": "https://api.example/docs", "llms": "https://api.example/llms.txt" } },
          "paths": {
            "/forecast": {
              "get": {
                "operationId": "forecast",
                "x-payment-info": { "offers": [
                  { "intent": "charge", "method": "tempo", "amount": "500", "currency": "0x20c000000000000000000000b9537d11c60e8b50" },
                  { "intent": "charge", "method": "stripe", "amount": "5", "currency": "usd" } ] },
                "responses": { "200": { "description": "ok" }, "402": { "description": "pay" } }
              },
              "parameters": []
            },
            "/chat": { "post": { "x-payment-info": { "intent": "session", "method": "tempo", "amount": null, "description": "per token" } } },
            "/bad": { "get": { "x-payment-info": { "intent": "charge", "method": "tempo", "amount": "05" } } },
            "/free": { "get": { "responses": { "200": { "description": "ok" } } } }
          }
        }
        """;

    [Test]
    public void Offers_single_or_listed_and_dynamic_prices_are_read_into_typed_quotes()
    {
        using var document = JsonDocument.Parse(Document);

        var service = PaymentDiscovery.Parse(document.RootElement);

        Assert.That(service.Title, Is.EqualTo("Weather"));
        Assert.That(service.Categories, Is.EqualTo(new[] { "data", "search" }));
        Assert.That(service.Llms, Is.EqualTo(new Uri("https://api.example/llms.txt")));
        var forecast = service.Find(HttpMethod.Get, "/forecast")!;
        Assert.That(forecast.OperationId, Is.EqualTo("forecast"));
        Assert.That(forecast.Offers.Select(o => (o.Method, o.Amount, o.Currency)), Is.EqualTo(new (string, BigInteger?, string?)[]
        {
            ("tempo", 500, "0x20c000000000000000000000b9537d11c60e8b50"),
            ("stripe", 5, "usd"),
        }));
        var chat = service.Find(HttpMethod.Post, "/chat")!.Offers.Single();
        Assert.That((chat.Intent, chat.IsDynamic, chat.Description), Is.EqualTo(("session", true, "per token")));
        Assert.That(service.Find(HttpMethod.Get, "/free"), Is.Null);
        Assert.That(service.Find(HttpMethod.Get, "/bad"), Is.Null, "an amount with a leading zero is not base units");
        Assert.That(service.Errors, Has.Count.EqualTo(1));
    }

    [Test]
    public async Task The_document_is_fetched_from_the_origin_without_payment_and_a_missing_one_is_null()
    {
        var seen = new List<Uri>();
        using var http = new HttpClient(new Stub(request =>
        {
            seen.Add(request.RequestUri!);
            return request.RequestUri!.Host == "none.example"
                ? new HttpResponseMessage(HttpStatusCode.NotFound)
                : new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(Document, Encoding.UTF8, "application/json") };
        }));

        var found = await PaymentDiscovery.FetchAsync(http, new Uri("https://api.example/forecast?city=x"));
        var missing = await PaymentDiscovery.FetchAsync(http, new Uri("https://none.example/a"));

        Assert.That(found!.Operations, Has.Count.EqualTo(2));
        Assert.That(missing, Is.Null);
        Assert.That(seen[0], Is.EqualTo(new Uri("https://api.example/openapi.json")));
    }

    private sealed class Stub(Func<HttpRequestMessage, HttpResponseMessage> answer) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) => Task.FromResult(answer(request));
    }
}
