using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Mpp.Client.Protocol;

namespace Mpp.Client.Tests.Payments;

/// <summary>An HttpClient wired exactly as an application would (<c>AddHttpClient().AddMppPayments()</c>), with probes.</summary>
internal sealed class PaymentHarness : IDisposable
{
    private PaymentHarness(ServiceProvider services, TestChargeMethod method, CapturingLoggerProvider logs)
    {
        Services = services;
        Method = method;
        Logs = logs;
        Client = services.GetRequiredService<IHttpClientFactory>().CreateClient("paid");
    }

    public ServiceProvider Services { get; }

    public HttpClient Client { get; }

    public TestChargeMethod Method { get; }

    public CapturingLoggerProvider Logs { get; }

    public ISpendLedger Ledger => Services.GetRequiredService<ISpendLedger>();

    public IPaymentJournal Journal => Services.GetRequiredService<IPaymentJournal>();

    public IReceiptStore Receipts => Services.GetRequiredService<IReceiptStore>();

    public static PaymentHarness Create(
        Action<MppPaymentOptions>? configure = null,
        HttpMessageHandler? primary = null,
        Action<MppBuilder>? mpp = null,
        Action<IHttpClientBuilder>? afterPayments = null,
        TimeProvider? time = null)
    {
        var services = new ServiceCollection();
        var logs = new CapturingLoggerProvider();
        services.AddLogging(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Trace));
        if (time is not null)
        {
            services.AddSingleton(time);
        }

        var method = new TestChargeMethod();
        var builder = services.AddMpp().AddMethod(method);
        mpp?.Invoke(builder);
        var client = services.AddHttpClient("paid").AddMppPayments(o =>
        {
            o.AllowInsecureLoopback = true;
            o.Budget.Limit(TestChargeMethod.Coin, perRequest: 5m, total: 100m);
            configure?.Invoke(o);
        });
        if (primary is not null)
        {
            client.ConfigurePrimaryHttpMessageHandler(() => primary);
        }

        afterPayments?.Invoke(client);
        return new PaymentHarness(services.BuildServiceProvider(), method, logs);
    }

    public Task<SpendSummary> SpentAsync(string scope = "paid") => Ledger.GetSummaryAsync(scope, TestChargeMethod.Coin.Id, CancellationToken.None).AsTask();

    public void Dispose()
    {
        Client.Dispose();
        Services.Dispose();
    }
}

/// <summary>Builds 402 answers as an MPP server would, for MockHttp.</summary>
internal static class Answers
{
    private static long _nonce;

    public static PaymentChallenge Challenge(string origin = "https://api.example.com", string amount = "100", string currency = "xts", string recipient = "merchant-1", string method = "test", TimeSpan? expiresIn = null, string? header = null, string? intent = null)
    {
        // A server nonce keeps challenges made within one millisecond distinct, as real servers' are.
        var nonce = Interlocked.Increment(ref _nonce);
        using var request = JsonDocument.Parse($$"""{"amount":"{{amount}}","currency":"{{currency}}","nonce":"{{nonce}}","recipient":"{{recipient}}"}""");
        return PaymentChallenge.CreateBound(
            MiniMppServer.Secret, new Uri(origin).Authority, method, intent ?? "charge", request.RootElement,
            PaymentChallenge.FormatTimestamp(DateTimeOffset.UtcNow + (expiresIn ?? TimeSpan.FromMinutes(5))), header: header);
    }

    public static HttpResponseMessage PaymentRequired(params PaymentChallenge[] challenges) => PaymentRequired(PaymentProblemTypes.PaymentRequired, challenges);

    public static HttpResponseMessage PaymentRequired(string problemType, params PaymentChallenge[] challenges)
    {
        var response = new HttpResponseMessage(HttpStatusCode.PaymentRequired)
        {
            Content = new StringContent($$"""{"type":"{{problemType}}","title":"t","status":402}""", System.Text.Encoding.UTF8, PaymentProblem.MediaType),
        };
        foreach (var challenge in challenges)
        {
            response.Headers.TryAddWithoutValidation("WWW-Authenticate", challenge.ToHeaderValue());
        }

        return response;
    }

    public static HttpResponseMessage Paid(PaymentChallenge challenge, string method = "test")
    {
        var response = new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent("ok") };
        var receipt = PaymentReceipt.Create(method, "ref-" + challenge.Id[..6], DateTimeOffset.UtcNow,
            new Dictionary<string, JsonElement> { ["challengeId"] = JsonSerializer.SerializeToElement(challenge.Id) });
        response.Headers.TryAddWithoutValidation("Payment-Receipt", receipt.ToHeaderValue());
        return response;
    }

    public static bool HasCredential(HttpRequestMessage request)
        => (request.Headers.TryGetValues("Authorization", out var a) && a.Any(v => v.StartsWith("Payment ", StringComparison.Ordinal)))
           || request.Headers.Contains("Payment-Authorization");
}

/// <summary>Collects every log line (message, state values and exception text) for redaction checks.</summary>
internal sealed class CapturingLoggerProvider : ILoggerProvider
{
    public ConcurrentQueue<string> Lines { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this);

    public void Dispose()
    {
    }

    private sealed class Logger(CapturingLoggerProvider owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var values = state is IEnumerable<KeyValuePair<string, object?>> pairs ? string.Join(" ", pairs.Select(p => $"{p.Key}={p.Value}")) : string.Empty;
            owner.Lines.Enqueue($"{logLevel} {eventId.Name} {formatter(state, exception)} | {values} | {exception}");
        }
    }
}
