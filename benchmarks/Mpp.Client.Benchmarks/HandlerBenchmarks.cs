using System.Net;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Mpp.Client.Protocol;

namespace Mpp.Client.Benchmarks;

/// <summary>
/// The payment handler alone, over a stub inner handler (no network): its cost on a response that needs
/// no payment, and the CPU of negotiating a one-challenge 402 (parse, select, policy, reserve, journal,
/// encode, clone) with a method whose credential costs nothing to make, so signing is excluded.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class HandlerBenchmarks
{
    private const string Url = "https://api.example.com/resource";
    internal static readonly Asset Coin = new(AssetId.Fiat("xts"), "XTS", 2);

    private readonly byte[] _megabyte = new byte[1024 * 1024];
    private HttpMessageInvoker _baseline = null!;
    private HttpMessageInvoker _paying = null!;
    private HttpMessageInvoker _negotiating = null!;
    private ServiceProvider _services = null!;

    [GlobalSetup]
    public void Setup()
    {
        var services = new ServiceCollection();
        services.AddMpp().AddMethod(new FreeMethod());
        services.AddHttpClient("bench").AddMppPayments(o => o.Budget.Limit(Coin, perRequest: 1m));
        _services = services.BuildServiceProvider();
        var options = _services.GetRequiredService<IOptionsMonitor<MppPaymentOptions>>();
        var shared = _services.GetRequiredService<PaymentServices>();

        _baseline = new HttpMessageInvoker(new OkHandler());
        _paying = new HttpMessageInvoker(new PaymentHandler("bench", options, shared) { InnerHandler = new OkHandler() });
        _negotiating = new HttpMessageInvoker(new PaymentHandler("bench", options, shared) { InnerHandler = new ChallengeThenOkHandler() });
    }

    [GlobalCleanup]
    public void Cleanup() => _services.Dispose();

    [Benchmark(Baseline = true, Description = "GET, stub only (no handler)")]
    public Task<HttpResponseMessage> BaselineGet() => _baseline.SendAsync(new HttpRequestMessage(HttpMethod.Get, Url), CancellationToken.None);

    [Benchmark(Description = "GET through the payment handler, 200")]
    public Task<HttpResponseMessage> HandlerGet() => _paying.SendAsync(new HttpRequestMessage(HttpMethod.Get, Url), CancellationToken.None);

    [Benchmark(Description = "POST 1 MiB ByteArrayContent, stub only")]
    public Task<HttpResponseMessage> BaselinePost() => _baseline.SendAsync(new HttpRequestMessage(HttpMethod.Post, Url) { Content = new ByteArrayContent(_megabyte) }, CancellationToken.None);

    [Benchmark(Description = "POST 1 MiB ByteArrayContent through the handler, 200")]
    public Task<HttpResponseMessage> HandlerPost() => _paying.SendAsync(new HttpRequestMessage(HttpMethod.Post, Url) { Content = new ByteArrayContent(_megabyte) }, CancellationToken.None);

    [Benchmark(Description = "Negotiate a one-challenge 402 and pay (signing excluded)")]
    public async Task<HttpResponseMessage> Negotiate() => await _negotiating.SendAsync(new HttpRequestMessage(HttpMethod.Get, Url), CancellationToken.None);

    private sealed class OkHandler : HttpMessageHandler
    {
        private static readonly Task<HttpResponseMessage> Ok = Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK));

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) => Ok;
    }

    /// <summary>Answers an unpaid request with a 402 (one charge challenge, made once: its cost is the server's), a paid one with 200.</summary>
    private sealed class ChallengeThenOkHandler : HttpMessageHandler
    {
        private readonly string _challenge = PaymentChallenge.Create(
            "bench-challenge-id-0123456789abcdefghijklmnop", "api.example.com", "bench", "charge",
            JsonDocument.Parse("""{"amount":"1","currency":"xts","recipient":"merchant"}""").RootElement,
            "2099-01-01T00:00:00.000Z", "benchmark charge").ToHeaderValue();

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (request.Headers.Contains("Authorization"))
            {
                return Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK));
            }

            var response = new HttpResponseMessage(HttpStatusCode.PaymentRequired);
            response.Headers.TryAddWithoutValidation("WWW-Authenticate", _challenge);
            return Task.FromResult(response);
        }
    }

    /// <summary>Quotes the request and returns a fixed proof: the cost of signing is left out.</summary>
    internal sealed class FreeMethod : IPaymentMethod
    {
        private readonly JsonElement _payload = JsonDocument.Parse("""{"proof":"0x00"}""").RootElement;

        public string Method => "bench";

        public bool CanPay(PaymentChallenge challenge) => challenge.Method == "bench";

        public ValueTask<PaymentQuote> QuoteAsync(PaymentChallenge challenge, PaymentContext context, CancellationToken cancellationToken)
            => ValueTask.FromResult(new PaymentQuote(challenge, new AssetAmount(Coin.Id, 1), ["merchant"]));

        public ValueTask<PaymentCredential> CreateCredentialAsync(PaymentQuote quote, PaymentContext context, CancellationToken cancellationToken)
            => ValueTask.FromResult(new PaymentCredential(quote.Challenge, _payload));

        public ValueTask OnSettledAsync(PaymentSettlement settlement, CancellationToken cancellationToken) => ValueTask.CompletedTask;
    }
}
