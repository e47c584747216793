using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.DependencyInjection;
using Mpp.Client.Protocol;
using Mpp.Client.Tempo;

namespace Mpp.Client.Benchmarks;

/// <summary>
/// One paid session call on an open channel, end to end inside the process: the application's HttpClient, the payment
/// handler's up-front path, the voucher sequencer (store write, EIP-712 hash, signature), the credential encoding, the
/// receipt and journal. The server is a stub answering from memory (a fixed receipt), so no socket or server time is in it.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class SessionBenchmarks
{
    private const string Url = "https://api.example.com/session";
    private ServiceProvider _services = null!;
    private HttpClient _client = null!;
    private string? _directory;

    [Params("memory", "sqlite")]
    public string Store { get; set; } = "memory";

    [GlobalSetup]
    public void Setup()
    {
        var services = new ServiceCollection();
        _directory = Store == "sqlite" ? Path.Combine(Path.GetTempPath(), "mpp-bench-" + Guid.NewGuid().ToString("N")) : null;
        var mpp = services.AddMpp();
        if (_directory is not null)
        {
            mpp.UseSqlite(Path.Combine(_directory, "mpp.db")); // ledger, journal, receipts and the channel in one file
        }

        mpp
            .AddTempo(o =>
            {
                o.Signer = PrivateKeySigner.FromHex("0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80");
                o.RpcUrl = new Uri("http://rpc.invalid/");
                o.ChainId = 1337;
            })
            .AddTempoSessions(o =>
            {
                o.CloseOnShutdown = false;
                o.MaxDeposit = 1_000_000m;
                o.Deposit = 1_000_000m;
            });
        services.AddHttpClient(TempoMppBuilderExtensions.RpcHttpClientName).ConfigurePrimaryHttpMessageHandler(() => new ChainStub());
        services.AddHttpClient("bench").AddMppPayments(o => o.Budget.Limit(TempoAssets.PathUsdOn(1337), perRequest: 1m, total: 2_000_000m))
            .ConfigurePrimaryHttpMessageHandler(() => new ServerStub());
        _services = services.BuildServiceProvider();
        _client = _services.GetRequiredService<IHttpClientFactory>().CreateClient("bench");
        using var opened = _client.GetAsync(Url).GetAwaiter().GetResult(); // 402, open: the channel every measured call uses
        if (!opened.IsSuccessStatusCode)
        {
            throw new InvalidOperationException("The open failed: " + (int)opened.StatusCode);
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _services.Dispose();
        if (_directory is not null)
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    [Benchmark(Description = "Paid session call on an open channel (voucher up front)")]
    public async Task<int> PaidCall()
    {
        using var response = await _client.GetAsync(Url);
        return (int)response.StatusCode;
    }

    /// <summary>A session route: 402 without a credential; 200 with a receipt for the channel otherwise.</summary>
    private sealed class ServerStub : HttpMessageHandler
    {
        private readonly PaymentChallenge _challenge;
        private string? _receipt;

        public ServerStub()
        {
            using var request = JsonDocument.Parse("""{"amount":"1","currency":"0x20c0000000000000000000000000000000000000","methodDetails":{"chainId":1337,"escrowContract":"0x4d50500000000000000000000000000000000000","sessionProtocol":"v2"},"recipient":"0x70997970C51812dc3A010C7d01b50e0d17dc79C8","suggestedDeposit":"1000000","unitType":"request"}""");
            _challenge = PaymentChallenge.Create("bench-session", "api.example.com", "tempo", "session", request.RootElement, PaymentChallenge.FormatTimestamp(DateTimeOffset.UtcNow.AddDays(1)));
        }

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (!request.Headers.TryGetValues("Authorization", out var values))
            {
                var challenge = new HttpResponseMessage(HttpStatusCode.PaymentRequired);
                challenge.Headers.TryAddWithoutValidation("WWW-Authenticate", _challenge.ToHeaderValue());
                return Task.FromResult(challenge);
            }

            if (_receipt is null)
            {
                var channelId = PaymentCredential.Parse(values.First()).Payload.GetProperty("channelId").GetString()!;
                _receipt = PaymentReceipt.FromJson(JsonSerializer.SerializeToElement(new JsonObject
                {
                    ["method"] = "tempo", ["intent"] = "session", ["status"] = "success", ["timestamp"] = "2026-11-21T00:00:00.000Z",
                    ["reference"] = channelId, ["challengeId"] = _challenge.Id, ["channelId"] = channelId, ["acceptedCumulative"] = "1", ["spent"] = "1",
                })).ToHeaderValue();
            }

            var ok = new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent("{\"ok\":true}"u8.ToArray()) };
            ok.Headers.TryAddWithoutValidation("Payment-Receipt", _receipt);
            return Task.FromResult(ok);
        }
    }

    /// <summary>The chain RPC the open needs (chain id, head, fees).</summary>
    private sealed class ChainStub : HttpMessageHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var body = JsonNode.Parse(await request.Content!.ReadAsStringAsync(cancellationToken))!;
            JsonNode result = body["method"]!.GetValue<string>() switch
            {
                "eth_chainId" => "0x539",
                "eth_getBlockByNumber" => new JsonObject { ["timestamp"] = "0x" + DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString("x", System.Globalization.CultureInfo.InvariantCulture) },
                "eth_fillTransaction" => new JsonObject { ["raw"] = "0x", ["tx"] = new JsonObject { ["gas"] = "0xc3500", ["maxFeePerGas"] = "0x4a817c800", ["maxPriorityFeePerGas"] = "0x3b9aca00" } },
                var other => throw new InvalidOperationException(other),
            };
            return new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(new JsonObject { ["jsonrpc"] = "2.0", ["id"] = body["id"]!.DeepClone(), ["result"] = result }.ToJsonString(), Encoding.UTF8, "application/json") };
        }
    }
}
