using System.Net;
using System.Numerics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging.Abstractions;
using Mpp.Client.Protocol;
using Mpp.Client.Tempo.Evm;
using RichardSzalay.MockHttp;

namespace Mpp.Client.Tempo.Tests;

/// <summary>Sessions against mppx's own vectors (byte for byte) and a scripted chain and server.</summary>
public sealed partial class SessionTests
{
    private const string DevKey0 = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
    private static readonly Uri Rpc = new("http://127.0.0.1:18545/");
    private static readonly Uri Resource = new("http://127.0.0.1:8402/session");
    private static readonly DateTimeOffset VectorNow = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static PaymentContext Context(BigInteger? total = null)
        => new("c", HttpMethod.Get, Resource, 1, null, asset => new SpendLimit(asset, perRequest: 100_000, total: total ?? 10_000_000));

    /// <summary>A chain answering from the vector's fixed values; ChannelClosed logs for receipts it was told about.</summary>
    private sealed class FakeChain
    {
        public List<JsonNode> Requests { get; } = [];

        public Dictionary<string, JsonNode> Receipts { get; } = [];

        public JsonNode Fill { get; init; } = new JsonObject();

        public ChannelState State { get; set; } = new(0, 1_000_000, 0);

        public MockHttpMessageHandler Handler()
        {
            var mock = new MockHttpMessageHandler();
            mock.When(HttpMethod.Post, Rpc.ToString()).Respond(request =>
            {
                var body = JsonNode.Parse(request.Content!.ReadAsStringAsync().Result)!;
                lock (Requests)
                {
                    Requests.Add(body);
                }

                JsonNode? result = body["method"]!.GetValue<string>() switch
                {
                    "eth_chainId" => "0x539",
                    "eth_getBlockByNumber" => new JsonObject { ["timestamp"] = Hex.EncodeQuantity(VectorNow.ToUnixTimeSeconds()) },
                    "eth_fillTransaction" => Fill.DeepClone(),
                    "eth_getTransactionReceipt" => Receipts[body["params"]![0]!.GetValue<string>()].DeepClone(),
                    "eth_call" => Hex.Encode([.. new byte[224], .. Abi.Word(State.Settled), .. Abi.Word(State.Deposit), .. Abi.Word(State.CloseRequestedAt)]),
                    var other => throw new InvalidOperationException("unexpected RPC " + other),
                };
                return Json(new JsonObject { ["jsonrpc"] = "2.0", ["id"] = body["id"]!.DeepClone(), ["result"] = result });
            });
            return mock;
        }
    }

    internal sealed record ChannelState(BigInteger Settled, BigInteger Deposit, long CloseRequestedAt);

    private static HttpResponseMessage Json(JsonNode body) => new(HttpStatusCode.OK) { Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json") };

    private static FakeChain VectorChain(JsonElement vector)
    {
        var fixedFill = vector.GetProperty("inputs").GetProperty("fixedRpc").GetProperty("eth_fillTransaction");
        return new FakeChain
        {
            Fill = new JsonObject
            {
                ["raw"] = "0x",
                ["tx"] = new JsonObject
                {
                    ["gas"] = fixedFill.GetProperty("gas").GetString(),
                    ["maxFeePerGas"] = fixedFill.GetProperty("maxFeePerGas").GetString(),
                    ["maxPriorityFeePerGas"] = fixedFill.GetProperty("maxPriorityFeePerGas").GetString(),
                },
            },
        };
    }

    private static TempoSessionManager Manager(FakeChain chain, JsonElement vector, IChannelStore? store = null, HttpMessageHandler? server = null, ISpendLedger? ledger = null, Action<TempoSessionOptions>? configure = null, byte[]? salt = null)
    {
        var tempo = new TempoOptions { Signer = PrivateKeySigner.FromHex(DevKey0), RpcUrl = Rpc, ChainId = 1337 };
        var options = new TempoSessionOptions();
        configure?.Invoke(options);
        salt ??= Hex.Decode(vector.GetProperty("credential").GetProperty("decoded").GetProperty("payload").GetProperty("descriptor").GetProperty("salt").GetString()!);
        var validAfter = vector.GetProperty("transaction").GetProperty("decoded").GetProperty("validAfter").GetInt64();
        var time = new FixedTime(VectorNow);
        return new TempoSessionManager(
            tempo, options, new HttpClient(chain.Handler()), new HttpClient(server ?? new MockHttpMessageHandler()), store ?? new InMemoryChannelStore(), ledger ?? new InMemorySpendLedger(time), time, NullLogger.Instance, _ => validAfter, () => salt);
    }

    private static PaymentChallenge Challenge(JsonElement vector) => PaymentChallenge.Parse(vector.GetProperty("challenge").GetProperty("wwwAuthenticate").GetString()!);

    private static PaymentReceipt SessionReceipt(string channelId, BigInteger accepted, string? txHash = null)
    {
        var json = new JsonObject
        {
            ["method"] = "tempo", ["intent"] = "session", ["status"] = "success", ["timestamp"] = "2026-01-01T00:00:01.000Z",
            ["reference"] = channelId, ["channelId"] = channelId, ["acceptedCumulative"] = accepted.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["spent"] = accepted.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        if (txHash is not null)
        {
            json["txHash"] = txHash;
        }

        return PaymentReceipt.FromJson(JsonSerializer.SerializeToElement(json));
    }

    private static async Task<(PaymentQuote Quote, PaymentCredential Credential)> PayAsync(TempoSessionManager manager, PaymentChallenge challenge, PaymentContext context, Func<PaymentCredential, PaymentReceipt?>? receipt = null, ISpendLedger? ledger = null)
    {
        var quote = await manager.QuoteAsync(challenge, context, default);
        SpendReservation? reservation = null;
        if (quote.LocksDeposit)
        {
            // What the payment handler does: reserve the deposit before anything is signed.
            reservation = ledger is null
                ? new SpendReservation(Guid.NewGuid(), "c", "127.0.0.1", quote.Deposit!.Value, VectorNow)
                : (await ledger.TryReserveAsync(new SpendRequest("c", "127.0.0.1", quote.Deposit!.Value, quote.Amount.Units, context.FindLimit(quote.Amount.Asset)!, quote.Challenge.Id), default)).Reservation!;
        }

        var credential = await manager.CreateCredentialAsync(quote, context, default);
        await manager.OnSettledAsync(new PaymentSettlement(quote, PaymentOutcome.Settled, receipt?.Invoke(credential), null, 200) { Reservation = reservation });
        return (quote, credential);
    }

    [Test]
    public async Task Open_voucher_and_close_credentials_are_byte_identical_to_the_reference_clients()
    {
        var open = Vectors.Load("session-open.json");
        var voucher = Vectors.Load("session-voucher.json");
        var close = Vectors.Load("session-close.json");
        var chain = VectorChain(open);
        var channelId = open.GetProperty("channelId").GetProperty("value").GetString()!;
        const string CloseTx = "0x2222222222222222222222222222222222222222222222222222222222222222";
        chain.Receipts[CloseTx] = ClosedReceipt(CloseTx, channelId, 3000, 997_000);
        var server = new MockHttpMessageHandler();
        string? closeCredential = null;
        server.When(HttpMethod.Post, Resource.ToString()).Respond(request =>
        {
            closeCredential = request.Headers.GetValues("Authorization").Single();
            var answer = new HttpResponseMessage(HttpStatusCode.NoContent);
            answer.Headers.Add("Payment-Receipt", SessionReceipt(channelId, 3000, CloseTx).ToHeaderValue());
            return answer;
        });
        var ledger = new InMemorySpendLedger(new FixedTime(VectorNow));
        var manager = Manager(chain, open, server: server, ledger: ledger);
        var challenge = Challenge(open);
        var context = Context();

        var (openQuote, openCredential) = await PayAsync(manager, challenge, context, _ => SessionReceipt(channelId, 1000));
        AssertSameCredential(openCredential.ToHeaderValue(), open);
        Assert.That(openQuote.Deposit!.Value.Units, Is.EqualTo(new BigInteger(1_000_000)), "the server's suggested deposit, within MaxDeposit");
        Assert.That(openQuote.Amount.Units, Is.EqualTo(new BigInteger(1000)), "the per-request cap applies to the price of a call");
        var fill = chain.Requests.Single(r => r["method"]!.GetValue<string>() == "eth_fillTransaction");
        Assert.That(fill["params"]![0]!["feeToken"]!.GetValue<string>(), Is.EqualTo("0x20c0000000000000000000000000000000000000"), "unsponsored session transactions name the fee token");

        var (voucherQuote, voucherCredential) = await PayAsync(manager, challenge, context, _ => SessionReceipt(channelId, 2000));
        Assert.That(voucherQuote.IsPrefunded, Is.True, "a voucher draws on the locked deposit");
        AssertSameCredential(voucherCredential.ToHeaderValue(), voucher);

        // The voucher payload is written in canonical form directly (the hot path): the whole credential must still be JCS.
        var decoded = Base64UrlDecode(voucherCredential.ToHeaderValue()["Payment ".Length..]);
        using (var parsed = JsonDocument.Parse(decoded))
        {
            Assert.That(CanonicalJson.SerializeToUtf8Bytes(parsed.RootElement), Is.EqualTo(decoded), "the voucher credential is canonical JSON");
        }

        await PayAsync(manager, challenge, context, _ => SessionReceipt(channelId, 3000));
        var closed = await manager.CloseAsync(channelId);

        AssertSameCredential(closeCredential!, close);
        Assert.That((closed.SettledToPayee, closed.RefundedToPayer), Is.EqualTo((new BigInteger(3000), new BigInteger(997_000))));
        Assert.That(manager.GetChannels(), Is.Empty);
    }

    [Test]
    public async Task The_fee_sponsored_open_is_the_0x78_hand_off_byte_identical_to_the_reference_clients()
    {
        var vector = Vectors.Load("session-open-sponsored.json");
        var exchange = vector.GetProperty("inputs").GetProperty("rpcExchanges")[0];
        var chain = new FakeChain { Fill = JsonNode.Parse(exchange.GetProperty("result").GetRawText())! };
        var manager = Manager(chain, vector);

        var quote = await manager.QuoteAsync(Challenge(vector), Context(), default);
        var credential = await manager.CreateCredentialAsync(quote, Context(), default);

        AssertSameCredential(credential.ToHeaderValue(), vector);
        Assert.That(credential.Payload.GetProperty("transaction").GetString(), Does.StartWith("0x78"));
        var sent = chain.Requests.Single(r => r["method"]!.GetValue<string>() == "eth_fillTransaction")["params"];
        Assert.That(JsonNode.DeepEquals(sent, JsonNode.Parse(exchange.GetProperty("request").GetProperty("params").GetRawText())), Is.True, sent!.ToJsonString());
    }

    [Test]
    public async Task Concurrent_calls_on_one_channel_get_strictly_increasing_amounts_each_persisted_before_its_voucher_exists()
    {
        var open = Vectors.Load("session-open.json");
        var store = new RecordingStore();
        var manager = Manager(VectorChain(open), open, store);
        var challenge = Challenge(open);
        await PayAsync(manager, challenge, Context());

        var amounts = await Task.WhenAll(Enumerable.Range(0, 40).Select(async _ =>
        {
            var (_, credential) = await PayAsync(manager, challenge, Context());
            var amount = BigInteger.Parse(credential.Payload.GetProperty("cumulativeAmount").GetString()!, System.Globalization.CultureInfo.InvariantCulture);
            Assert.That(store.HighestSaved(open.GetProperty("channelId").GetProperty("value").GetString()!), Is.GreaterThanOrEqualTo(amount), "saved before the credential was handed out");
            return amount;
        }));

        Assert.That(amounts.Order(), Is.EqualTo(Enumerable.Range(2, 40).Select(i => new BigInteger(i * 1000))), "no amount twice, none skipped");
        Assert.That(store.Saves.Select(s => s.HighestSigned), Is.Ordered, "the stored amount only ever grows");
    }

    [Test]
    public async Task A_voucher_never_exceeds_the_deposit_and_a_refused_top_up_is_a_typed_denial_that_signs_nothing()
    {
        var open = Vectors.Load("session-open.json");
        var chain = VectorChain(open);
        var store = new RecordingStore();
        var ledger = new InMemorySpendLedger(new FixedTime(VectorNow));
        var manager = Manager(chain, open, store, ledger: ledger, configure: o => o.Deposit = 0.002m);
        var challenge = Challenge(open);
        await PayAsync(manager, challenge, Context(total: 2000), ledger: ledger);
        await PayAsync(manager, challenge, Context(total: 2000), ledger: ledger);
        var signed = manager.VouchersSigned;

        var quote = await manager.QuoteAsync(challenge, Context(total: 2000), default);
        var denied = Assert.ThrowsAsync<PaymentDeniedException>(async () => await manager.CreateCredentialAsync(quote, Context(total: 2000), default));

        Assert.That(denied!.Rule, Is.EqualTo("budget.total"));
        Assert.That(manager.VouchersSigned, Is.EqualTo(signed));
        Assert.That(store.Saves.Max(s => s.HighestSigned), Is.EqualTo(new BigInteger(2000)), "nothing above the deposit was ever stored or signed");
    }

    [Test]
    public async Task A_server_that_forgot_the_channel_gets_it_evicted_and_the_next_call_opens_a_new_one()
    {
        var open = Vectors.Load("session-open.json");
        var chain = VectorChain(open);
        var salts = 0;
        var tempo = new TempoOptions { Signer = PrivateKeySigner.FromHex(DevKey0), RpcUrl = Rpc, ChainId = 1337 };
        var manager = new TempoSessionManager(tempo, new TempoSessionOptions(), new HttpClient(chain.Handler()), new HttpClient(new MockHttpMessageHandler()), new InMemoryChannelStore(), new InMemorySpendLedger(new FixedTime(VectorNow)), new FixedTime(VectorNow), NullLogger.Instance, _ => 1, () => [.. new byte[31], (byte)++salts]);
        var challenge = Challenge(open);
        await PayAsync(manager, challenge, Context());
        var first = manager.GetChannels().Single().ChannelId;

        var quote = await manager.QuoteAsync(challenge, Context(), default);
        await manager.CreateCredentialAsync(quote, Context(), default);
        var problem = PaymentProblem.Parse($$"""{"type":"{{PaymentProblemTypes.SessionChannelNotFound}}","title":"Channel Not Found","status":410}""");
        await manager.OnSettledAsync(new PaymentSettlement(quote, PaymentOutcome.Rejected, null, problem, 410));

        Assert.That(manager.VouchersRejected, Is.EqualTo(1), "every refused voucher is counted");
        var (reopened, _) = await PayAsync(manager, challenge, Context());
        Assert.That(reopened.LocksDeposit, Is.True, "a new channel is opened");
        Assert.That(manager.GetChannels().Single(c => c.State == SessionChannelState.Open).ChannelId, Is.Not.EqualTo(first));
        Assert.That(manager.GetChannels().Single(c => c.ChannelId == first).State, Is.EqualTo(SessionChannelState.Closing), "the old one is kept until its deposit is recovered");
    }

    [Test]
    public async Task A_restart_recovers_channels_from_the_store_and_never_signs_below_the_stored_or_the_on_chain_settled_amount()
    {
        var open = Vectors.Load("session-open.json");
        var path = Path.Combine(Path.GetTempPath(), "mpp-store-" + Guid.NewGuid().ToString("N"), "mpp.db");
        var chain = VectorChain(open);
        var challenge = Challenge(open);
        using (var database = MppSqliteDatabase.Open(new SqliteStoreOptions { Path = path }))
        using (var store = new SqliteChannelStore(database))
        {
            var manager = Manager(chain, open, store);
            for (var i = 0; i < 3; i++)
            {
                await PayAsync(manager, challenge, Context());
            }
        }

        chain.State = new ChannelState(Settled: 5000, Deposit: 1_000_000, CloseRequestedAt: 0); // the payee settled a voucher we no longer remember
        using (var database = MppSqliteDatabase.Open(new SqliteStoreOptions { Path = path }))
        using (var store = new SqliteChannelStore(database))
        {
            var manager = Manager(chain, open, store);
            var recovered = await manager.RecoverAsync();
            Assert.That(recovered.Single().HighestSigned, Is.EqualTo(new BigInteger(5000)), "the chain's settled amount is a floor");
            var (_, next) = await PayAsync(manager, challenge, Context());
            Assert.That(next.Payload.GetProperty("cumulativeAmount").GetString(), Is.EqualTo("6000"));
        }
    }

    [Test]
    public async Task A_receipt_claiming_more_than_was_signed_is_ignored()
    {
        var open = Vectors.Load("session-open.json");
        var manager = Manager(VectorChain(open), open);
        var channelId = open.GetProperty("channelId").GetProperty("value").GetString()!;
        await PayAsync(manager, Challenge(open), Context(), _ => SessionReceipt(channelId, 1000));
        await PayAsync(manager, Challenge(open), Context(), _ => SessionReceipt(channelId, 900_000));

        var channel = manager.GetChannels().Single();
        Assert.That((channel.HighestSigned, channel.Accepted), Is.EqualTo((new BigInteger(2000), new BigInteger(1000))));
    }

    [TestCase("""{"amount":"1000","currency":"0x20c0000000000000000000000000000000000000","recipient":"0x70997970C51812dc3A010C7d01b50e0d17dc79C8","methodDetails":{"escrowContract":"0x4d50500000000000000000000000000000000001","chainId":1337,"sessionProtocol":"v2"}}""", "tempo.escrow")]
    [TestCase("""{"amount":"1000","currency":"0x20c0000000000000000000000000000000000000","recipient":"0x70997970C51812dc3A010C7d01b50e0d17dc79C8","methodDetails":{"escrowContract":"0x4d50500000000000000000000000000000000000","chainId":1337}}""", "tempo.session-protocol")]
    [TestCase("""{"amount":"1000","currency":"0x20c0000000000000000000000000000000000000","recipient":"0x70997970C51812dc3A010C7d01b50e0d17dc79C8","methodDetails":{"escrowContract":"0x4d50500000000000000000000000000000000000","chainId":4217,"sessionProtocol":"v2"}}""", "tempo.chain")]
    [TestCase("""{"amount":"0","currency":"0x20c0000000000000000000000000000000000000","recipient":"0x70997970C51812dc3A010C7d01b50e0d17dc79C8","methodDetails":{"escrowContract":"0x4d50500000000000000000000000000000000000","chainId":1337,"sessionProtocol":"v2"}}""", "method.invalid-request")]
    [TestCase("""{"amount":"1000","currency":"0x20c0000000000000000000000000000000000000","recipient":"0x70997970C51812dc3A010C7d01b50e0d17dc79C8","suggestedDeposit":"79228162514264337593543950336","methodDetails":{"escrowContract":"0x4d50500000000000000000000000000000000000","chainId":1337,"sessionProtocol":"v2"}}""", "method.invalid-request")]
    public void A_hostile_or_unsupported_session_request_is_refused_before_anything_is_signed(string request, string rule)
    {
        var open = Vectors.Load("session-open.json");
        var chain = VectorChain(open);
        var manager = Manager(chain, open);
        using var json = JsonDocument.Parse(request);
        var challenge = PaymentChallenge.Create("ch", "interop.local", "tempo", "session", json.RootElement, "2026-01-01T00:05:00Z");

        var denied = Assert.ThrowsAsync<PaymentDeniedException>(async () => await manager.QuoteAsync(challenge, Context(), default));

        Assert.That(denied!.Rule, Is.EqualTo(rule));
        Assert.That(chain.Requests, Is.Empty);
    }

    [Test]
    public async Task A_huge_suggested_deposit_is_capped_by_MaxDeposit_and_by_what_the_budget_has_left()
    {
        var open = Vectors.Load("session-open.json");
        var manager = Manager(VectorChain(open), open, configure: o => o.MaxDeposit = 0.5m);
        var quote = await manager.QuoteAsync(Challenge(open), Context(), default);
        Assert.That(quote.Deposit!.Value.Units, Is.EqualTo(new BigInteger(500_000)));
        var small = await manager.QuoteAsync(Challenge(open), Context(total: 20_000), default);
        Assert.That(small.Deposit!.Value.Units, Is.EqualTo(new BigInteger(20_000)));
    }

    [Test]
    public async Task A_second_process_finding_the_channel_leased_opens_its_own_and_takes_over_a_released_one_at_its_stored_amount()
    {
        var open = Vectors.Load("session-open.json");
        var path = Path.Combine(Path.GetTempPath(), "mpp-store-" + Guid.NewGuid().ToString("N"), "mpp.db");
        var chain = VectorChain(open);
        var challenge = Challenge(open);
        using var first = MppSqliteDatabase.Open(new SqliteStoreOptions { Path = path });
        using var second = MppSqliteDatabase.Open(new SqliteStoreOptions { Path = path });
        var holderStore = new SqliteChannelStore(first);
        var holder = Manager(chain, open, holderStore);
        for (var i = 0; i < 3; i++)
        {
            await PayAsync(holder, challenge, Context());
        }

        using var otherStore = new SqliteChannelStore(second);
        var other = Manager(chain, open, otherStore, salt: System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        var (quote, _) = await PayAsync(other, challenge, Context());
        Assert.That(quote.LocksDeposit, Is.True, "the channel is leased by the first manager: the second opens one of its own (Exclusive)");

        holderStore.Dispose(); // the first process stops: its lease is given up
        var third = Manager(chain, open, new SqliteChannelStore(first));
        var (adopted, voucher) = await PayAsync(third, challenge, Context());
        Assert.That(adopted.LocksDeposit, Is.False, "a released open channel is adopted rather than a new one opened");
        Assert.That(voucher.Payload.GetProperty("cumulativeAmount").GetString(), Is.EqualTo("4000"), "it continues above the 3000 stored");
    }

    [Test]
    public async Task Server_sent_events_are_parsed_with_every_line_ending_multi_line_data_and_comments()
    {
        var text = "event: message\r\ndata: one\r\n\r\n: a comment\ndata: two\ndata: lines\n\nevent: payment-need-voucher\rdata: {\"x\":1}\r\rdata: unterminated";
        var events = new List<(string, string, string?)>();
        await foreach (var e in PaidEventStream.ReadEventsAsync(new MemoryStream(Encoding.UTF8.GetBytes(text)), default))
        {
            events.Add(e);
        }

        Assert.That(events, Is.EqualTo(new[] { ("message", "one", (string?)null), ("message", "two\nlines", null), ("payment-need-voucher", "{\"x\":1}", null) }));
    }

    [Test]
    public void An_endless_server_sent_event_is_refused_instead_of_filling_memory()
    {
        var endless = new MemoryStream(Encoding.UTF8.GetBytes("data: " + new string('x', 2 * 1024 * 1024)));
        Assert.ThrowsAsync<Mpp.Client.Protocol.MppProtocolException>(async () =>
        {
            await foreach (var unused in PaidEventStream.ReadEventsAsync(endless, default))
            {
            }
        });
    }

    /// <summary>
    /// The same credential as mppx's: every member and byte string equal (transactions, signatures, descriptor). Member
    /// order is not compared: we send canonical (JCS) JSON, mppx insertion order; the protocol does not require either.
    /// </summary>
    private static void AssertSameCredential(string actual, JsonElement vector)
    {
        var expected = vector.GetProperty("credential").GetProperty("authorization").GetString()!;
        var ours = JsonNode.Parse(Base64UrlDecode(actual["Payment ".Length..]));
        var theirs = JsonNode.Parse(Base64UrlDecode(expected["Payment ".Length..]));
        Assert.That(JsonNode.DeepEquals(ours, theirs), Is.True, $"ours:   {ours!.ToJsonString()}\ntheirs: {theirs!.ToJsonString()}");
    }

    private static byte[] Base64UrlDecode(string text) => Convert.FromBase64String(text.Replace('-', '+').Replace('_', '/').PadRight(text.Length + ((4 - (text.Length % 4)) % 4), '='));

    private static JsonNode ClosedReceipt(string txHash, string channelId, BigInteger settled, BigInteger refunded) => new JsonObject
    {
        ["transactionHash"] = txHash,
        ["status"] = "0x1",
        ["logs"] = new JsonArray(new JsonObject
        {
            ["address"] = "0x4d50500000000000000000000000000000000000",
            ["topics"] = new JsonArray(Hex.Encode(Keccak.Hash("ChannelClosed(bytes32,address,address,uint96,uint96)")), channelId),
            ["data"] = Hex.Encode([.. Abi.Word(settled), .. Abi.Word(refunded)]),
        }),
    };

    /// <summary>An in-memory store that records every save.</summary>
    private sealed class RecordingStore : IChannelStore
    {
        private readonly InMemoryChannelStore _inner = new();

        public List<SessionChannel> Saves { get; } = [];

        public BigInteger HighestSaved(string channelId)
        {
            lock (Saves)
            {
                return Saves.Where(s => s.ChannelId == channelId).Select(s => s.HighestSigned).DefaultIfEmpty().Max();
            }
        }

        public ValueTask<IReadOnlyList<SessionChannel>> LoadAsync(CancellationToken cancellationToken) => _inner.LoadAsync(cancellationToken);

        public ValueTask SaveAsync(SessionChannel channel, CancellationToken cancellationToken)
        {
            lock (Saves)
            {
                Saves.Add(channel);
            }

            return _inner.SaveAsync(channel, cancellationToken);
        }
    }
}
