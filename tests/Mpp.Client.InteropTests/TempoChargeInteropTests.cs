using System.Net;
using System.Numerics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Mpp.Client.Protocol;
using Mpp.Client.Tempo;
using Mpp.Client.Tempo.Charge;
using Mpp.Client.Tempo.Evm;

namespace Mpp.Client.InteropTests;

/// <summary>Tempo charge end to end: the SDK pays the real mppx server's <c>GET /paid</c> on the local Tempo chain.</summary>
[Category("Interop")]
[NonParallelizable]
public sealed class TempoChargeInteropTests
{
    private static ServiceProvider Services(Func<IPaymentMethod, IPaymentMethod>? decorate = null, CapturingHandler? spy = null, TempoChargeMode mode = TempoChargeMode.Pull)
    {
        var services = new ServiceCollection();
        var mpp = services.AddMpp();
        if (decorate is null)
        {
            mpp.AddTempo(Configure);
        }
        else
        {
            services.AddOptions<TempoOptions>().Configure(Configure);
            services.AddHttpClient("rpc");
            services.AddSingleton<IPaymentMethod>(sp => decorate(new TempoChargeMethod(
                sp.GetRequiredService<Microsoft.Extensions.Options.IOptions<TempoOptions>>().Value,
                sp.GetRequiredService<IHttpClientFactory>().CreateClient("rpc"),
                TimeProvider.System)));
        }

        var client = services.AddHttpClient("paid").AddMppPayments(o =>
        {
            o.AllowInsecureLoopback = true; // the harness serves plain HTTP on 127.0.0.1
            o.Budget.Limit(TempoAssets.PathUsdOn(ReferenceServer.ChainId), perRequest: 0.05m, total: 1m);
        });
        if (spy is not null)
        {
            client.AddHttpMessageHandler(() => spy);
        }

        return services.BuildServiceProvider();

        void Configure(TempoOptions o)
        {
            o.Mode = mode;
            o.Signer = PrivateKeySigner.FromHex(ReferenceServer.PayerKey);
            o.RpcUrl = ReferenceServer.RpcUrl;
            o.ChainId = ReferenceServer.ChainId;
        }
    }

    [Test]
    public async Task A_charge_is_paid_and_the_chain_shows_the_transfer_with_the_challenge_bound_memo()
    {
        using var services = Services();
        using var client = services.GetRequiredService<IHttpClientFactory>().CreateClient("paid");
        client.BaseAddress = ReferenceServer.Url;

        using var response = await client.GetAsync("/paid");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), await response.Content.ReadAsStringAsync());
        var details = response.GetPaymentDetails()!;
        var receipt = details.Receipt!;
        Assert.That(receipt.Method, Is.EqualTo("tempo"));
        Assert.That(receipt.Reference, Does.Match("^0x[0-9a-f]{64}$"));
        Assert.That(details.AmountPaid!.Value.Units, Is.EqualTo(new BigInteger(10000)));

        var logs = await TransferWithMemoLogsAsync(receipt.Reference);
        var expectedMemo = Hex.Encode(AttributionMemo.Create("interop.local", details.Challenge!.Id));
        var transfer = logs.Single(l => string.Equals(l.To, ReferenceServer.Payee, StringComparison.OrdinalIgnoreCase));
        Assert.That(transfer.Token, Is.EqualTo(TempoAssets.PathUsdAddress));
        Assert.That(transfer.From, Is.EqualTo("0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"));
        Assert.That(transfer.Amount, Is.EqualTo(new BigInteger(10000)));
        Assert.That(transfer.Memo, Is.EqualTo(expectedMemo));

        var spent = await services.GetRequiredService<ISpendLedger>().GetSummaryAsync("paid", TempoAssets.PathUsdOn(ReferenceServer.ChainId).Id, default);
        Assert.That(spent.Committed, Is.EqualTo(new BigInteger(10000)));
    }

    [Test]
    public async Task Push_mode_broadcasts_and_sends_the_hash_unless_fees_are_sponsored()
    {
        var spy = new CapturingHandler();
        using var services = Services(spy: spy, mode: TempoChargeMode.Push);
        using var client = services.GetRequiredService<IHttpClientFactory>().CreateClient("paid");
        client.BaseAddress = ReferenceServer.Url;

        using var response = await client.GetAsync("/paid");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), await response.Content.ReadAsStringAsync());
        var credential = PaymentCredential.Parse(spy.Credentials.Single());
        Assert.That(credential.Payload.GetProperty("type").GetString(), Is.EqualTo(ReferenceServer.FeePayer ? "transaction" : "hash"));
        var logs = await TransferWithMemoLogsAsync(response.GetPaymentReceipt()!.Reference);
        Assert.That(logs.Single().Amount, Is.EqualTo(new BigInteger(10000)));
    }

    [Test]
    public async Task A_replayed_transaction_is_refused_by_the_server()
    {
        var spy = new CapturingHandler();
        using var services = Services(spy: spy);
        using var client = services.GetRequiredService<IHttpClientFactory>().CreateClient("paid");
        client.BaseAddress = ReferenceServer.Url;
        using (var first = await client.GetAsync("/paid"))
        {
            Assert.That(first.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        }

        // The same Authorization again, by hand: the server has seen this transaction.
        using var replay = new HttpClient { BaseAddress = ReferenceServer.Url };
        using var request = new HttpRequestMessage(HttpMethod.Get, "/paid");
        request.Headers.TryAddWithoutValidation("Authorization", spy.Credentials.Single());
        using var answer = await replay.SendAsync(request);

        Assert.That(answer.StatusCode, Is.EqualTo(HttpStatusCode.PaymentRequired));
        var problem = PaymentProblem.Parse(await answer.Content.ReadAsByteArrayAsync());
        Assert.That(problem.Type, Is.AnyOf(PaymentProblemTypes.InvalidChallenge, PaymentProblemTypes.VerificationFailed), problem.ToString());
    }

    [Test]
    public void A_transaction_replayed_under_a_fresh_challenge_comes_back_as_a_typed_rejection()
    {
        var replaying = new ReplayingMethod();
        using var services = Services(decorate: inner => replaying.Wrap(inner));
        using var client = services.GetRequiredService<IHttpClientFactory>().CreateClient("paid");
        client.BaseAddress = ReferenceServer.Url;

        Assert.That(async () => (await client.GetAsync("/paid")).Dispose(), Throws.Nothing);
        var ex = Assert.ThrowsAsync<PaymentRejectedException>(() => client.GetAsync("/paid"));

        Assert.That(ex!.Problem!.Type, Is.EqualTo(PaymentProblemTypes.VerificationFailed), ex.Message);
    }

    [Test]
    public async Task A_tampered_transaction_comes_back_as_a_typed_rejection_and_is_not_retried_forever()
    {
        var tampering = new TamperingMethod();
        using var services = Services(decorate: inner => tampering.Wrap(inner));
        using var client = services.GetRequiredService<IHttpClientFactory>().CreateClient("paid");
        client.BaseAddress = ReferenceServer.Url;

        HttpResponseMessage? response = null;
        MppException? ex = null;
        try
        {
            response = await client.GetAsync("/paid");
        }
        catch (MppException caught)
        {
            ex = caught;
        }

        Assert.That(ex, Is.InstanceOf<PaymentRejectedException>(), $"got HTTP {(int?)response?.StatusCode}: {(response is null ? null : await response.Content.ReadAsStringAsync())} outcome {response?.GetPaymentDetails()?.Outcome}");

        // mppx 0.11 answers a transaction whose signature no longer matches with 500 internal-payment-error.
        var rejected = (PaymentRejectedException)ex!;
        Assert.That(rejected.Problem?.Type, Is.AnyOf(PaymentProblemTypes.InternalPaymentError, PaymentProblemTypes.VerificationFailed), rejected.Message);
        Assert.That(tampering.Credentials, Is.InRange(1, 3));
    }

    internal static async Task<List<(string Token, string From, string To, BigInteger Amount, string Memo)>> TransferWithMemoLogsAsync(string transactionHash)
    {
        var receipt = await ReferenceServer.TransactionReceiptAsync(transactionHash);
        var topic = Hex.Encode(Abi.TransferWithMemoTopic);
        return [.. receipt.GetProperty("logs").EnumerateArray()
            .Where(l => l.GetProperty("topics")[0].GetString() == topic)
            .Select(l => (
                l.GetProperty("address").GetString()!.ToLowerInvariant(),
                "0x" + l.GetProperty("topics")[1].GetString()![26..],
                "0x" + l.GetProperty("topics")[2].GetString()![26..],
                Hex.DecodeQuantity(l.GetProperty("data").GetString()!),
                l.GetProperty("topics")[3].GetString()!))];
    }

    /// <summary>Records every credential the payment handler sends (sits inside it).</summary>
    private sealed class CapturingHandler : DelegatingHandler
    {
        public List<string> Credentials { get; } = [];

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (request.Headers.TryGetValues("Authorization", out var values))
            {
                Credentials.AddRange(values);
            }

            return base.SendAsync(request, cancellationToken);
        }
    }

    /// <summary>Pays the first challenge honestly, then answers later challenges with that first transaction.</summary>
    private sealed class ReplayingMethod
    {
        private JsonElement? _first;

        public IPaymentMethod Wrap(IPaymentMethod inner) => new Decorator(inner, async (quote, context, ct) =>
        {
            var credential = await inner.CreateCredentialAsync(quote, context, ct);
            _first ??= credential.Payload;
            return new PaymentCredential(quote.Challenge, _first.Value, credential.Source);
        });
    }

    /// <summary>Flips one byte of the signed transaction's signature.</summary>
    private sealed class TamperingMethod
    {
        public int Credentials;

        public IPaymentMethod Wrap(IPaymentMethod inner) => new Decorator(inner, async (quote, context, ct) =>
        {
            Interlocked.Increment(ref Credentials);
            var credential = await inner.CreateCredentialAsync(quote, context, ct);
            var signed = credential.Payload.GetProperty("signature").GetString()!;
            var tampered = signed[..^6] + (signed[^6] == 'a' ? 'b' : 'a') + signed[^5..];
            var payload = JsonSerializer.SerializeToElement(new JsonObject { ["signature"] = tampered, ["type"] = "transaction" });
            return new PaymentCredential(quote.Challenge, payload, credential.Source);
        });
    }

    private sealed class Decorator(IPaymentMethod inner, Func<PaymentQuote, PaymentContext, CancellationToken, Task<PaymentCredential>> create) : IPaymentMethod
    {
        public string Method => inner.Method;

        public bool CanPay(PaymentChallenge challenge) => inner.CanPay(challenge);

        public ValueTask<PaymentQuote> QuoteAsync(PaymentChallenge challenge, PaymentContext context, CancellationToken cancellationToken) => inner.QuoteAsync(challenge, context, cancellationToken);

        public async ValueTask<PaymentCredential> CreateCredentialAsync(PaymentQuote quote, PaymentContext context, CancellationToken cancellationToken) => await create(quote, context, cancellationToken);

        public ValueTask OnSettledAsync(PaymentSettlement settlement, CancellationToken cancellationToken) => inner.OnSettledAsync(settlement, cancellationToken);
    }
}
