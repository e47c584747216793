using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Mpp.Client.Protocol;

namespace Mpp.Client.Mcp.Tests;

/// <summary>What the MCP transport must never do with a credential: follow a redirect, or hand it to the SDK's logs.</summary>
public sealed class McpTransportSafetyTests
{
    private static ServiceProvider Services(TestMethod method)
    {
        var services = new ServiceCollection();
        services.AddMpp().AddMethod(method).AddMcp(o =>
        {
            o.AllowInsecureLoopback = true;
            o.Budget.Limit(TestMethod.Coin, perRequest: 1m, total: 10m);
        });
        return services.BuildServiceProvider();
    }

    private static JsonObject Challenge(string id)
    {
        using var request = JsonDocument.Parse("""{"amount":"25","currency":"xts","recipient":"merchant"}""");
        return JsonNode.Parse(PaymentChallenge.Create(id, "fake.test", "test", "charge", request.RootElement).ToJson())!.AsObject();
    }

    [Test]
    public void The_transport_handler_never_follows_redirects_so_a_credential_never_reaches_another_origin()
    {
        using var byDefault = (DelegatingHandler)PaidMcpClientFactory.CreateHttpHandler();
        using var given = (DelegatingHandler)PaidMcpClientFactory.CreateHttpHandler(new SocketsHttpHandler());
        using var classic = (DelegatingHandler)PaidMcpClientFactory.CreateHttpHandler(new HttpClientHandler());

        Assert.Multiple(() =>
        {
            Assert.That(((SocketsHttpHandler)byDefault.InnerHandler!).AllowAutoRedirect, Is.False);
            Assert.That(((SocketsHttpHandler)given.InnerHandler!).AllowAutoRedirect, Is.False);
            Assert.That(((HttpClientHandler)classic.InnerHandler!).AllowAutoRedirect, Is.False);
        });
    }

    [Test]
    public async Task A_trace_enabled_logger_given_to_ConnectAsync_never_sees_a_credential()
    {
        using var server = new FakeMcpServer();
        var method = new TestMethod();
        await using var services = Services(method);
        server.Tools = call => call["_meta"]?[JsonRpcPaymentCodes.CredentialKey] is null
            ? new JsonObject { ["error"] = new JsonObject { ["code"] = -32042, ["message"] = "Payment Required", ["data"] = new JsonObject { ["httpStatus"] = 402, ["challenges"] = new JsonArray(Challenge("log-1")) } } }
            : new JsonObject
            {
                ["result"] = new JsonObject
                {
                    ["content"] = new JsonArray(new JsonObject { ["type"] = "text", ["text"] = "sunny" }),
                    ["_meta"] = new JsonObject { [JsonRpcPaymentCodes.ReceiptKey] = new JsonObject { ["status"] = "success", ["method"] = "test", ["timestamp"] = "2026-11-21T00:00:00Z", ["reference"] = "r-1", ["challengeId"] = "log-1" } },
                },
            };
        var logs = new CapturingLoggerFactory();
        var factory = services.GetRequiredService<PaidMcpClientFactory>();

        await using (var client = await factory.ConnectOverAsync(FakeMcpServer.Endpoint, PaidMcpClientFactory.CreateHttpHandler(server), loggerFactory: logs))
        {
            var paid = await client.CallToolAsync("weather");
            Assert.That(paid.IsPaid, Is.True);
        }

        Assert.Multiple(() =>
        {
            Assert.That(logs.Lines, Is.Not.Empty, "the SDK still logs");
            Assert.That(logs.Lines, Has.None.Contains("paid-log-1"), "the credential's payload");
            Assert.That(logs.Lines, Has.None.Contains(JsonRpcPaymentCodes.CredentialKey));
        });
    }

    [Test]
    public async Task Disposing_a_paid_client_makes_its_session_side_channels_forgotten_and_refuse_further_use()
    {
        using var server = new FakeMcpServer();
        var method = new HolderMethod();
        var services = new ServiceCollection();
        services.AddMpp().AddMethod(method).AddMcp(o =>
        {
            o.AllowInsecureLoopback = true;
            o.Budget.Limit(TestMethod.Coin, perRequest: 1m, total: 10m);
        });
        await using var provider = services.BuildServiceProvider();
        var factory = provider.GetRequiredService<PaidMcpClientFactory>();
        var client = await factory.ConnectOverAsync(FakeMcpServer.Endpoint, PaidMcpClientFactory.CreateHttpHandler(server));
        server.Tools = _ => new JsonObject { ["error"] = new JsonObject { ["code"] = -32042, ["message"] = "Payment Required", ["data"] = new JsonObject { ["challenges"] = new JsonArray(Challenge("side-1")) } } };
        Assert.CatchAsync<MppException>(() => client.CallToolAsync("weather"));
        var side = method.SideChannel!;

        await client.DisposeAsync();

        Assert.That(method.Forgotten, Is.EqualTo(new object[] { client }));
        Assert.That(side, Is.InstanceOf<IOwnedPaymentSideChannel>());
        Assert.That(((IOwnedPaymentSideChannel)side).Owner, Is.SameAs(client));
        Assert.ThrowsAsync<ObjectDisposedException>(() => side.SendAsync(new PaymentCredential(PaymentChallenge.FromJson(JsonSerializer.SerializeToElement(Challenge("side-2"))), JsonSerializer.SerializeToElement(new { }), "did:test"), CancellationToken.None));
    }

    /// <summary>Refuses every quote but remembers the side channel it was offered, and what it was told to forget.</summary>
    private sealed class HolderMethod : IPaymentMethod, IPaymentSideChannelHolder
    {
        public IPaymentSideChannel? SideChannel { get; private set; }

        public List<object> Forgotten { get; } = [];

        public string Method => "test";

        public bool CanPay(PaymentChallenge challenge) => true;

        public ValueTask<PaymentQuote> QuoteAsync(PaymentChallenge challenge, PaymentContext context, CancellationToken cancellationToken)
        {
            SideChannel = context.Operation?.SideChannel;
            throw new PaymentDeniedException("test.refused", "no");
        }

        public ValueTask<PaymentCredential> CreateCredentialAsync(PaymentQuote quote, PaymentContext context, CancellationToken cancellationToken) => throw new NotSupportedException();

        public ValueTask OnSettledAsync(PaymentSettlement settlement, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public void ForgetSideChannels(object owner) => Forgotten.Add(owner);
    }

    /// <summary>Every category enabled at every level, Trace included; each line with its state values.</summary>
    private sealed class CapturingLoggerFactory : ILoggerFactory
    {
        public ConcurrentQueue<string> Lines { get; } = new();

        public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

        public void AddProvider(ILoggerProvider provider)
        {
        }

        public void Dispose()
        {
        }

        private sealed class Logger(CapturingLoggerFactory owner, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                var values = state is IEnumerable<KeyValuePair<string, object?>> pairs ? string.Join(" ", pairs.Select(p => $"{p.Key}={p.Value}")) : string.Empty;
                owner.Lines.Enqueue($"{logLevel} {category} {formatter(state, exception)} | {values} | {exception}");
            }
        }
    }
}
