using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Http.Resilience;
using Mpp.Client.ReliabilityTests.Chaos;
using Mpp.Client.Testing;
using Polly;
using Polly.Retry;

namespace Mpp.Client.ReliabilityTests.Resilience;

/// <summary>A resilience stack a user might compose with <c>AddMppPayments()</c>.</summary>
public enum RetryStack
{
    /// <summary><c>AddStandardResilienceHandler()</c> (Microsoft.Extensions.Http.Resilience).</summary>
    StandardResilienceHandler,

    /// <summary><c>AddResilienceHandler(name, b =&gt; b.AddRetry(…))</c>: a Polly pipeline built with the same package.</summary>
    CustomResilienceHandler,

    /// <summary>A plain Polly.Core <see cref="ResiliencePipeline{T}"/> run by a DelegatingHandler of the application's own.</summary>
    PlainPollyPipeline,
}

/// <summary>
/// The standard resilience stack composed with the payment handler in both orders, paying the test kit for real over
/// loopback (a fault proxy in front of it answers 503 where a test needs it) and counting signatures, credentials on the
/// wire and the payments the kit's ledger recorded. Inside (registered after <c>AddMppPayments()</c>, recommended) a
/// retry resends the paid request: one signature. Outside (registered before) a retry resends the unpaid call: it is
/// made safe, never paid a second time, because every attempt of a call shares one payment scope.
/// </summary>
[NonParallelizable]
public sealed class ResilienceCompositionTests
{
    private const decimal Price = 0.01m;

    [TestCase(RetryStack.StandardResilienceHandler)]
    [TestCase(RetryStack.CustomResilienceHandler)]
    [TestCase(RetryStack.PlainPollyPipeline)]
    public async Task Retries_inside_the_payment_handler_resend_the_paid_request_and_sign_once(RetryStack stack)
    {
        // The first paid request meets a 503 before the server sees it; the retry resends the same credential.
        await using var world = await World.StartAsync(r => r.HasCredential && r.Index == 2 ? new Fault(FaultKind.AnswerInstead, 503) : Fault.Forward);
        await using var client = world.Client(after: b => Add(b, stack));

        using var response = await client.Client.GetAsync(new Uri("/paid", UriKind.Relative));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(response.GetPaymentDetails()!.Outcome, Is.EqualTo(PaymentOutcome.Settled));
        Assert.That(client.Signer.Signatures, Is.EqualTo(1), "signed once");
        Assert.That(world.Proxy.Seen.Where(s => s.Request.HasCredential).Select(s => s.Request.Authorization).Distinct().Count(), Is.EqualTo(1), "the retry resent the same credential");
        Assert.That(world.Proxy.CredentialsSeen, Is.EqualTo(2));
        Assert.That(world.Server.Ledger.Payments, Has.Count.EqualTo(1), "paid once");
        Assert.That((await client.JournalAsync()).Single().State, Is.EqualTo(JournalState.Settled));
        Assert.That((await client.SpentAsync()).Committed, Is.EqualTo(client.Asset.ToAtomic(Price)));
    }

    [TestCase(RetryStack.StandardResilienceHandler)]
    [TestCase(RetryStack.PlainPollyPipeline)]
    public async Task A_retry_inside_that_resends_a_credential_the_server_took_before_failing_is_an_unknown_outcome_not_a_second_payment(RetryStack stack)
    {
        // The server settles the first paid request but answers 503; the resent credential is refused as already used.
        await using var world = await World.StartAsync(r => r.HasCredential && r.Index == 2 ? new Fault(FaultKind.ForwardThenAnswer, 503) : Fault.Forward);
        await using var client = world.Client(after: b => Add(b, stack));

        var ex = Assert.ThrowsAsync<PaymentOutcomeUnknownException>(() => client.Client.GetAsync(new Uri("/paid", UriKind.Relative)));

        Assert.That(ex!.Message, Does.Contain("was sent 2 times"));
        Assert.That(client.Signer.Signatures, Is.EqualTo(1));
        Assert.That(world.Server.Ledger.Payments, Has.Count.EqualTo(1), "the first send was paid, and nothing more");
        Assert.That((await client.JournalAsync()).Single().State, Is.EqualTo(JournalState.Unknown));
        Assert.That((await client.SpentAsync()).Unknown, Is.EqualTo(client.Asset.ToAtomic(Price)), "kept counted against the budget");
    }

    [TestCase(RetryStack.StandardResilienceHandler)]
    [TestCase(RetryStack.CustomResilienceHandler)]
    [TestCase(RetryStack.PlainPollyPipeline)]
    public async Task Retries_outside_the_payment_handler_still_retry_a_failure_that_came_before_any_payment(RetryStack stack)
    {
        await using var world = await World.StartAsync(r => r.Index == 1 ? new Fault(FaultKind.AnswerInstead, 503) : Fault.Forward);
        await using var client = world.Client(before: b => Add(b, stack));

        using var response = await client.Client.GetAsync(new Uri("/paid", UriKind.Relative));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That((client.Signer.Signatures, world.Proxy.CredentialsSeen, world.Server.Ledger.Payments.Count), Is.EqualTo((1, 1, 1)));
    }

    [TestCase(RetryStack.StandardResilienceHandler, FaultKind.AnswerInstead)]
    [TestCase(RetryStack.StandardResilienceHandler, FaultKind.ForwardThenAnswer)]
    [TestCase(RetryStack.CustomResilienceHandler, FaultKind.ForwardThenAnswer)]
    [TestCase(RetryStack.PlainPollyPipeline, FaultKind.AnswerInstead)]
    [TestCase(RetryStack.PlainPollyPipeline, FaultKind.ForwardThenAnswer)]
    public async Task Retries_outside_the_payment_handler_never_pay_a_call_whose_credential_was_sent(RetryStack stack, FaultKind fault)
    {
        // A 503 to the paid request (lost before the server, or after it settled): the outer retry sends the unpaid call
        // again, gets a fresh 402, and that attempt is not paid.
        await using var world = await World.StartAsync(r => r.HasCredential ? new Fault(fault, 503) : Fault.Forward);
        await using var client = world.Client(before: b => Add(b, stack));

        using var response = await client.Client.GetAsync(new Uri("/paid", UriKind.Relative));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.PaymentRequired));
        var refusal = response.GetPaymentDetails()!.Refusals.Single(r => r.Rule == "payment.retried");
        Assert.That(refusal.Reason, Does.Contain("Register retry handlers after AddMppPayments()"));
        Assert.That((client.Signer.Signatures, world.Proxy.CredentialsSeen), Is.EqualTo((1, 1)), "one signature, one credential on the wire");
        Assert.That(world.Server.Ledger.Payments, Has.Count.EqualTo(fault == FaultKind.ForwardThenAnswer ? 1 : 0));
        Assert.That(world.Proxy.Seen.Count(s => !s.Request.HasCredential), Is.GreaterThanOrEqualTo(2), "the outer handler did retry");
        var spent = await client.SpentAsync();
        Assert.That((spent.Unknown, spent.Reserved.IsZero), Is.EqualTo((client.Asset.ToAtomic(Price), true)), "the 503 left the payment unknown and counted; no reservation is left hanging");
    }

    [Test]
    public async Task A_hedging_handler_outside_the_payment_handler_lets_one_copy_pay_and_the_caller_gets_its_answer()
    {
        // The paid request is slow, so the hedging handler sends copies of the call; they wait for the paying copy.
        await using var world = await World.StartAsync(r => r.HasCredential ? new Fault(FaultKind.DelayThenForward, Hold: TimeSpan.FromMilliseconds(1500)) : Fault.Forward);
        await using var client = world.Client(before: b => b.AddStandardHedgingHandler().Configure(o => o.Hedging.Delay = TimeSpan.FromMilliseconds(200)));

        using var response = await client.Client.GetAsync(new Uri("/paid", UriKind.Relative));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That((client.Signer.Signatures, world.Proxy.CredentialsSeen, world.Server.Ledger.Payments.Count), Is.EqualTo((1, 1, 1)));
        Assert.That(world.Proxy.Seen.Count(s => !s.Request.HasCredential), Is.GreaterThan(1), "the hedging handler did send copies");
    }

    [Test]
    public async Task The_recommended_registration_in_the_readme_pays_once_through_a_transient_failure()
    {
        await using var world = await World.StartAsync(r => r.HasCredential && r.Index == 2 ? new Fault(FaultKind.AnswerInstead, 503) : Fault.Forward);
        var payer = world.Server.CreateFundedAccount(1m);
        var services = new ServiceCollection();
        services.AddMpp().AddTempo(o =>
        {
            o.Signer = payer.CreateSigner();
            o.RpcUrl = world.Server.RpcUrl;
            o.ChainId = world.Server.ChainId;
        });

        // The README's "Retries and resilience" registration, verbatim but for the address and the loopback switch.
        services.AddHttpClient("tools", c => c.BaseAddress = world.Proxy.BaseAddress)
            .AddMppPayments(o =>
            {
                o.AllowInsecureLoopback = true;
                o.Budget.Limit(Mpp.Client.Tempo.TempoAssets.PathUsdOn(world.Server.ChainId), perRequest: 0.05m, perDay: 5m);
            })
            .AddStandardResilienceHandler();   // after AddMppPayments(): a retry resends the paid request

        await using var provider = services.BuildServiceProvider();
        using var response = await provider.GetRequiredService<IHttpClientFactory>().CreateClient("tools").GetAsync(new Uri("/paid", UriKind.Relative));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That((world.Proxy.CredentialsSeen, world.Server.Ledger.Payments.Count), Is.EqualTo((2, 1)));
    }

    internal static void Add(IHttpClientBuilder builder, RetryStack stack)
    {
        switch (stack)
        {
            case RetryStack.StandardResilienceHandler:
                builder.AddStandardResilienceHandler(o =>
                {
                    o.Retry.Delay = TimeSpan.FromMilliseconds(20);
                    o.Retry.BackoffType = DelayBackoffType.Constant;
                    o.Retry.UseJitter = false;
                });
                break;
            case RetryStack.CustomResilienceHandler:
                builder.AddResilienceHandler("retry", p => p.AddRetry(new HttpRetryStrategyOptions
                {
                    MaxRetryAttempts = 3,
                    Delay = TimeSpan.FromMilliseconds(20),
                    BackoffType = DelayBackoffType.Constant,
                    UseJitter = false,
                }));
                break;
            default:
                builder.AddHttpMessageHandler(() => new PollyPipelineHandler(new ResiliencePipelineBuilder<HttpResponseMessage>()
                    .AddRetry(new RetryStrategyOptions<HttpResponseMessage>
                    {
                        MaxRetryAttempts = 3,
                        Delay = TimeSpan.FromMilliseconds(20),
                        ShouldHandle = new PredicateBuilder<HttpResponseMessage>().Handle<HttpRequestException>().HandleResult(r => (int)r.StatusCode >= 500),
                    })
                    .Build()));
                break;
        }
    }

    /// <summary>What an application without Microsoft.Extensions.Http.Resilience writes: a handler running a Polly pipeline.</summary>
    private sealed class PollyPipelineHandler(ResiliencePipeline<HttpResponseMessage> pipeline) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
            => await pipeline.ExecuteAsync(async token => await base.SendAsync(request, token), cancellationToken);
    }

    /// <summary>The kit charging <see cref="Price"/> on <c>/paid</c>, behind a fault proxy.</summary>
    private sealed class World : IAsyncDisposable
    {
        private World(MppTestServer server, FaultProxy proxy)
        {
            Server = server;
            Proxy = proxy;
        }

        public MppTestServer Server { get; }

        public FaultProxy Proxy { get; }

        public static async Task<World> StartAsync(Func<ProxiedRequest, Fault> faults)
        {
            var server = await MppTestServer.StartAsync(o => o.Routes["/paid"] = TestRoute.Charge(Price));
            return new World(server, await FaultProxy.StartAsync(server.BaseAddress, faults));
        }

        public PayingClient Client(Action<IHttpClientBuilder>? before = null, Action<IHttpClientBuilder>? after = null)
            => PayingClient.Create(Server, Server.CreateFundedAccount(1m), new PayingClientOptions
            {
                Server = Proxy.BaseAddress,
                Rpc = Server.RpcUrl,
                BeforePayments = before,
                AfterPayments = after,
                Timeout = TimeSpan.FromSeconds(60),
            });

        public async ValueTask DisposeAsync()
        {
            await Proxy.DisposeAsync();
            await Server.DisposeAsync();
        }
    }
}
