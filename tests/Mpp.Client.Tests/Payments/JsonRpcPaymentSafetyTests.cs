using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Mpp.Client.Protocol;

namespace Mpp.Client.Tests.Payments;

/// <summary>JSON-RPC over HTTP (<c>AddMppJsonRpcPayments</c>): what a hostile or failing server, or a failing store, must never cause.</summary>
public sealed class JsonRpcPaymentSafetyTests
{
    private static readonly Uri Endpoint = new("http://127.0.0.1:9/rpc");
    private const string Call = """{"jsonrpc":"2.0","id":7,"method":"eth_blockNumber","params":[1]}""";

    private sealed class Rpc : IDisposable
    {
        public Rpc(FakeRpc server, IPaymentMethod? method = null, IReceiptStore? receipts = null, IPaymentJournal? journal = null, bool withPrimary = true, Action<IHttpClientBuilder>? beforePayments = null)
        {
            var services = new ServiceCollection();
            services.AddLogging(b => b.AddProvider(Logs).SetMinimumLevel(LogLevel.Trace));
            if (receipts is not null)
            {
                services.AddSingleton(receipts);
            }

            if (journal is not null)
            {
                services.AddSingleton(journal);
            }

            services.AddMpp().AddMethod(method ?? Method);
            var named = services.AddHttpClient("rpc");
            beforePayments?.Invoke(named);
            var client = named.AddMppJsonRpcPayments(o =>
            {
                o.AllowInsecureLoopback = true;
                o.Budget.Limit(TestChargeMethod.Coin, perRequest: 5m, total: 100m);
            });
            if (withPrimary)
            {
                client.ConfigurePrimaryHttpMessageHandler(() => server);
            }

            Services = services.BuildServiceProvider();
            Client = Services.GetRequiredService<IHttpClientFactory>().CreateClient("rpc");
        }

        public TestChargeMethod Method { get; } = new();

        public CapturingLoggerProvider Logs { get; } = new();

        public ServiceProvider Services { get; }

        public HttpClient Client { get; }

        public Task<SpendSummary> SpentAsync() => Services.GetRequiredService<ISpendLedger>().GetSummaryAsync("rpc", TestChargeMethod.Coin.Id, CancellationToken.None).AsTask();

        public async Task<IReadOnlyList<JournalEntry>> JournalAsync() => await Services.GetRequiredService<IPaymentJournal>().GetAllAsync(CancellationToken.None);

        public Task<HttpResponseMessage> PostAsync(Uri? endpoint = null, Action<HttpRequestMessage>? configure = null)
        {
            var request = new HttpRequestMessage(HttpMethod.Post, endpoint ?? Endpoint) { Content = new StringContent(Call, Encoding.UTF8, "application/json") };
            configure?.Invoke(request);
            return Client.SendAsync(request);
        }

        public void Dispose()
        {
            Client.Dispose();
            Services.Dispose();
        }
    }

    internal static JsonObject Challenge(string amount = "40")
    {
        var challenge = Answers.Challenge(origin: "http://127.0.0.1:9", amount: amount);
        return JsonNode.Parse(challenge.ToJson(decodeRequest: true))!.AsObject();
    }

    internal static JsonObject PaymentRequired(JsonObject? challenge, string problemType = PaymentProblemTypes.PaymentRequired, int code = -32042)
    {
        var data = new JsonObject { ["httpStatus"] = 402, ["problem"] = new JsonObject { ["type"] = problemType, ["title"] = "t", ["status"] = 402 } };
        if (challenge is not null)
        {
            data["challenges"] = new JsonArray(challenge);
        }

        return new JsonObject { ["error"] = new JsonObject { ["code"] = code, ["message"] = "Payment Required", ["data"] = data } };
    }

    internal static JsonObject Paid(JsonObject message, bool withChallengeId = true)
    {
        var id = (string)message["_meta"]![JsonRpcPaymentCodes.CredentialKey]!["challenge"]!["id"]!;
        var receipt = new JsonObject { ["status"] = "success", ["method"] = "test", ["timestamp"] = "2026-11-21T00:00:00Z", ["reference"] = "r-" + id[..6] };
        if (withChallengeId)
        {
            receipt["challengeId"] = id;
        }

        return new JsonObject { ["result"] = new JsonObject { ["block"] = 42 }, ["_meta"] = new JsonObject { [JsonRpcPaymentCodes.ReceiptKey] = receipt } };
    }

    private static bool HasCredential(JsonObject message) => message["_meta"]?[JsonRpcPaymentCodes.CredentialKey] is not null;

    [Test]
    public async Task A_retry_handler_outside_the_json_rpc_payment_handler_never_gets_a_call_paid_twice()
    {
        // The paid call meets a 503 (whether the server took it is unknown: JsonRpcPaymentException); a retry handler that
        // retries whatever fails sends the unpaid call again.
        var paidOnce = 0;
        var server = new FakeRpc
        {
            Answer = m => HasCredential(m) ? Paid(m) : PaymentRequired(Challenge()),
            Status = m => HasCredential(m) && Interlocked.Increment(ref paidOnce) == 1 ? HttpStatusCode.ServiceUnavailable : HttpStatusCode.OK,
        };
        using var rpc = new Rpc(server, beforePayments: b => b.AddHttpMessageHandler(() => new RetryOnAnyFailureHandler()));

        using var response = await rpc.PostAsync();

        Assert.Multiple(async () =>
        {
            Assert.That(rpc.Method.Signatures, Is.EqualTo(1), "signed once");
            Assert.That(server.Messages.Count(HasCredential), Is.EqualTo(1), "one credential sent");
            Assert.That(server.Messages.Count(m => !HasCredential(m)), Is.EqualTo(2), "the outer handler did retry the call");
            Assert.That(response.GetPaymentDetails()!.Refusals.Single().Rule, Is.EqualTo("payment.retried"));
            Assert.That((await rpc.SpentAsync()).Total, Is.EqualTo(new System.Numerics.BigInteger(40)), "the unknown credential stays counted, once");
        });
    }

    [Test]
    public async Task A_per_request_dry_run_signs_nothing_and_returns_the_unpaid_answer_with_what_would_be_paid()
    {
        var server = new FakeRpc { Answer = m => HasCredential(m) ? Paid(m) : PaymentRequired(Challenge()) };
        using var rpc = new Rpc(server);

        using var response = await rpc.PostAsync(configure: r => r.WithPaymentDryRun());

        var details = response.GetPaymentDetails();
        Assert.Multiple(() =>
        {
            Assert.That(rpc.Method.Signatures, Is.Zero);
            Assert.That(server.Messages, Has.Count.EqualTo(1));
            Assert.That(details?.IsDryRun, Is.True);
            Assert.That(details?.IsPaid, Is.False);
        });
    }

    [Test]
    public async Task A_final_problem_after_a_credential_stops_the_call_instead_of_signing_again()
    {
        var server = new FakeRpc { Answer = m => PaymentRequired(Challenge(), HasCredential(m) ? PaymentProblemTypes.PaymentInsufficient : PaymentProblemTypes.PaymentRequired) };
        using var rpc = new Rpc(server);

        var error = Assert.ThrowsAsync<JsonRpcPaymentException>(() => rpc.PostAsync());

        Assert.Multiple(async () =>
        {
            Assert.That(rpc.Method.Signatures, Is.EqualTo(1), "one credential: paying again would not fix payment-insufficient");
            Assert.That(error!.Problem?.Type, Is.EqualTo(PaymentProblemTypes.PaymentInsufficient));
            Assert.That(error.Details?.Rounds, Is.EqualTo(1));
            Assert.That((await rpc.SpentAsync()).Unknown, Is.EqualTo(new System.Numerics.BigInteger(40)), "the refused credential stays counted");
        });
    }

    [Test]
    public async Task An_empty_minus_32042_after_a_credential_is_a_rejection_never_a_settlement_and_the_money_stays_counted()
    {
        var server = new FakeRpc
        {
            Answer = m => HasCredential(m)
                ? new JsonObject { ["error"] = new JsonObject { ["code"] = -32042, ["message"] = "Payment Required" } }
                : PaymentRequired(Challenge()),
        };
        using var rpc = new Rpc(server);

        var error = Assert.ThrowsAsync<JsonRpcPaymentException>(() => rpc.PostAsync());

        Assert.Multiple(async () =>
        {
            Assert.That(error!.Details?.IsPaid, Is.False);
            Assert.That(rpc.Method.Signatures, Is.EqualTo(1));
            Assert.That(rpc.Method.Settlements.Single().Outcome, Is.EqualTo(PaymentOutcome.Rejected));
            Assert.That((await rpc.JournalAsync()).Single().State, Is.EqualTo(JournalState.Rejected));
            var spent = await rpc.SpentAsync();
            Assert.That(spent.Committed.IsZero, Is.True);
            Assert.That(spent.Unknown, Is.EqualTo(new System.Numerics.BigInteger(40)));
        });
    }

    [Test]
    public async Task An_empty_minus_32043_after_a_credential_is_a_rejection_never_a_settlement()
    {
        var server = new FakeRpc
        {
            Answer = m => HasCredential(m)
                ? new JsonObject { ["error"] = new JsonObject { ["code"] = -32043, ["message"] = "Verification failed", ["data"] = new JsonObject() } }
                : PaymentRequired(Challenge()),
        };
        using var rpc = new Rpc(server);

        var error = Assert.ThrowsAsync<JsonRpcPaymentException>(() => rpc.PostAsync());

        Assert.Multiple(async () =>
        {
            Assert.That(error!.Details?.IsPaid, Is.False);
            Assert.That(rpc.Method.Settlements.Single().Outcome, Is.EqualTo(PaymentOutcome.Rejected));
            Assert.That((await rpc.SpentAsync()).Unknown, Is.EqualTo(new System.Numerics.BigInteger(40)));
        });
    }

    [Test]
    public async Task A_failing_receipt_store_after_paying_still_returns_the_paid_answer_and_tells_the_method_once()
    {
        var server = new FakeRpc { Answer = m => HasCredential(m) ? Paid(m) : PaymentRequired(Challenge()) };
        using var rpc = new Rpc(server, receipts: new FailingReceiptStore());

        using var response = await rpc.PostAsync();

        Assert.Multiple(async () =>
        {
            Assert.That((int)JsonNode.Parse(await response.Content.ReadAsStringAsync())!["result"]!["block"]!, Is.EqualTo(42));
            Assert.That(response.GetPaymentDetails()?.IsPaid, Is.True);
            Assert.That(rpc.Method.Settlements, Has.Count.EqualTo(1));
            Assert.That(rpc.Method.Settlements.Single().Outcome, Is.EqualTo(PaymentOutcome.Settled));
            Assert.That((await rpc.JournalAsync()).Single().State, Is.EqualTo(JournalState.Settled));
            Assert.That((await rpc.SpentAsync()).Committed, Is.EqualTo(new System.Numerics.BigInteger(40)));
            Assert.That(rpc.Logs.Lines, Has.Some.Contains("BookkeepingFailed"));
            Assert.That(rpc.Logs.Lines, Has.None.Contains("paid-").And.None.Contains("proof"), "no credential in the log");
        });
    }

    [Test]
    public async Task A_failing_journal_after_paying_still_returns_the_paid_answer_stores_the_receipt_and_tells_the_method_once()
    {
        var server = new FakeRpc { Answer = m => HasCredential(m) ? Paid(m) : PaymentRequired(Challenge()) };
        using var rpc = new Rpc(server, journal: new FailingJournal());

        using var response = await rpc.PostAsync();

        Assert.Multiple(async () =>
        {
            Assert.That(response.GetPaymentDetails()?.IsPaid, Is.True);
            Assert.That(rpc.Method.Settlements, Has.Count.EqualTo(1));
            Assert.That((await rpc.Services.GetRequiredService<IReceiptStore>().GetAllAsync(CancellationToken.None)), Has.Count.EqualTo(1), "the remaining steps still run");
            Assert.That((await rpc.SpentAsync()).Committed, Is.EqualTo(new System.Numerics.BigInteger(40)));
        });
    }

    [Test]
    public async Task A_failing_journal_after_a_rejected_credential_still_tells_the_method_once_and_raises_the_typed_rejection()
    {
        var server = new FakeRpc { Answer = m => PaymentRequired(Challenge(), HasCredential(m) ? PaymentProblemTypes.PaymentInsufficient : PaymentProblemTypes.PaymentRequired) };
        using var rpc = new Rpc(server, journal: new FailingJournal());

        Assert.ThrowsAsync<JsonRpcPaymentException>(() => rpc.PostAsync());

        Assert.That(rpc.Method.Settlements.Select(s => s.Outcome), Is.EqualTo(new[] { PaymentOutcome.Rejected }));
    }

    [Test]
    public async Task The_stored_receipt_records_the_quoted_price_not_the_deposit_locked_for_it()
    {
        var server = new FakeRpc { Answer = m => HasCredential(m) ? Paid(m) : PaymentRequired(Challenge(amount: "40")) };
        using var rpc = new Rpc(server, method: new DepositMethod());

        using var response = await rpc.PostAsync();

        var stored = await rpc.Services.GetRequiredService<IReceiptStore>().GetAllAsync(CancellationToken.None);
        Assert.That(stored.Single().Amount, Is.EqualTo("40"));
    }

    [Test]
    public async Task A_receipt_without_the_challenge_id_required_over_json_rpc_is_not_accepted()
    {
        var server = new FakeRpc { Answer = m => HasCredential(m) ? Paid(m, withChallengeId: false) : PaymentRequired(Challenge()) };
        using var rpc = new Rpc(server);

        using var response = await rpc.PostAsync();

        Assert.Multiple(async () =>
        {
            Assert.That(response.GetPaymentReceipt(), Is.Null);
            Assert.That(await rpc.Services.GetRequiredService<IReceiptStore>().GetAllAsync(CancellationToken.None), Is.Empty);
            Assert.That(rpc.Logs.Lines, Has.Some.Contains("challengeId"));
        });
    }

    [Test]
    public async Task A_second_credential_refused_on_this_side_surfaces_the_first_credentials_outcome()
    {
        var method = new TestChargeMethod();
        var server = new FakeRpc
        {
            Answer = m =>
            {
                if (HasCredential(m))
                {
                    method.FailWith = new PaymentDeniedException("budget.exceeded", "no more");
                }

                return PaymentRequired(Challenge(), HasCredential(m) ? PaymentProblemTypes.InvalidChallenge : PaymentProblemTypes.PaymentRequired);
            },
        };
        using var rpc = new Rpc(server, method: method);

        var error = Assert.ThrowsAsync<JsonRpcPaymentException>(() => rpc.PostAsync());

        Assert.Multiple(() =>
        {
            Assert.That(error!.Details, Is.Not.Null);
            Assert.That(error.Details!.Rounds, Is.EqualTo(1));
            Assert.That(error.Details.Outcome, Is.EqualTo(PaymentOutcome.Rejected));
            Assert.That(error.Details.JournalEntryId, Is.Not.Null);
        });
    }

    [Test]
    public async Task A_307_answer_to_the_paid_call_is_never_followed_so_the_credential_never_reaches_another_origin()
    {
        var stolen = new List<string>();
        await using var thief = await StartAsync(async context =>
        {
            using var reader = new StreamReader(context.Request.Body);
            var body = await reader.ReadToEndAsync();
            lock (stolen)
            {
                stolen.Add(body);
            }

            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync("""{"jsonrpc":"2.0","id":1,"result":{"block":1}}""");
        });
        var thiefUri = Address(thief);
        await using var origin = await StartAsync(async context =>
        {
            using var reader = new StreamReader(context.Request.Body);
            var message = JsonNode.Parse(await reader.ReadToEndAsync())!.AsObject();
            if (HasCredential(message))
            {
                context.Response.StatusCode = 307;
                context.Response.Headers.Location = new Uri(thiefUri, "/steal").ToString();
                return;
            }

            var answer = PaymentRequired(Challenge());
            answer["jsonrpc"] = "2.0";
            answer["id"] = message["id"]!.DeepClone();
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(answer.ToJsonString());
        });
        using var rpc = new Rpc(new FakeRpc(), withPrimary: false);

        var thrown = Assert.CatchAsync<MppException>(() => rpc.PostAsync(new Uri(Address(origin), "/rpc")));

        Assert.Multiple(async () =>
        {
            Assert.That(stolen, Is.Empty, "nothing reached the other origin");
            Assert.That(thrown, Is.Not.Null);
            Assert.That(rpc.Method.Signatures, Is.EqualTo(1));
            Assert.That((await rpc.JournalAsync()).Single().State, Is.EqualTo(JournalState.Unknown), "a redirect after paying is an unknown outcome");
            Assert.That((await rpc.SpentAsync()).Unknown, Is.EqualTo(new System.Numerics.BigInteger(40)));
        });
    }

    private static Uri Address(WebApplication app) => new(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());

    private static async Task<WebApplication> StartAsync(RequestDelegate handler)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.Run(handler);
        await app.StartAsync();
        return app;
    }

    /// <summary>A careless retry handler: it resends the same request on any exception.</summary>
    private sealed class RetryOnAnyFailureHandler : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            try
            {
                return await base.SendAsync(request, cancellationToken);
            }
            catch (Exception)
            {
                return await base.SendAsync(request, cancellationToken);
            }
        }
    }

    /// <summary>A JSON-RPC server in memory: <see cref="Answer"/> maps each request to its answer (the id is set here).</summary>
    internal sealed class FakeRpc : HttpMessageHandler
    {
        public List<JsonObject> Messages { get; } = [];

        public Func<JsonObject, JsonObject> Answer { get; set; } = _ => new JsonObject();

        public Func<JsonObject, HttpStatusCode> Status { get; set; } = _ => HttpStatusCode.OK;

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var message = JsonNode.Parse(await request.Content!.ReadAsStringAsync(cancellationToken))!.AsObject();
            Messages.Add(message);
            var answer = Answer(message);
            answer["jsonrpc"] = "2.0";
            answer["id"] = message["id"]!.DeepClone();
            var status = Status(message);
            return status == HttpStatusCode.OK
                ? new HttpResponseMessage(status) { Content = new StringContent(answer.ToJsonString(), Encoding.UTF8, "application/json") }
                : new HttpResponseMessage(status);
        }
    }

    /// <summary>A test charge that locks a deposit of ten times its price (as a session open does).</summary>
    private sealed class DepositMethod : IPaymentMethod
    {
        private readonly TestChargeMethod _inner = new();

        public string Method => "test";

        public bool CanPay(PaymentChallenge challenge) => _inner.CanPay(challenge);

        public async ValueTask<PaymentQuote> QuoteAsync(PaymentChallenge challenge, PaymentContext context, CancellationToken cancellationToken)
        {
            var quote = await _inner.QuoteAsync(challenge, context, cancellationToken);
            return new PaymentQuote(challenge, quote.Amount, quote.Recipients, new AssetAmount(quote.Amount.Asset, quote.Amount.Units * 10));
        }

        public ValueTask<PaymentCredential> CreateCredentialAsync(PaymentQuote quote, PaymentContext context, CancellationToken cancellationToken)
            => _inner.CreateCredentialAsync(quote, context, cancellationToken);

        public ValueTask OnSettledAsync(PaymentSettlement settlement, CancellationToken cancellationToken) => ValueTask.CompletedTask;
    }
}
