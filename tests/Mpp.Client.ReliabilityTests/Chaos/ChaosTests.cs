using System.Collections.Concurrent;
using System.Numerics;
using Mpp.Client.Tempo;
using Mpp.Client.Testing;

namespace Mpp.Client.ReliabilityTests.Chaos;

/// <summary>The figures of one fault, as <c>docs/reliability.md</c> records them (each test prints its line).</summary>
internal sealed record ChaosFigures(string Fault, int Trials, int PaymentsMade, int PaymentsExpected, int DoublePayments, BigInteger Overspend, BigInteger LostReservations)
{
    public override string ToString()
        => $"| {Fault} | {Trials} | {PaymentsMade} | {PaymentsExpected} | {DoublePayments} | {Overspend} | {LostReservations} |";
}

/// <summary>
/// Chaos against a hostile server, on real loopback sockets: the test kit (real Tempo verification and ledger) behind a
/// fault proxy that drops connections after reading the credential, resets them mid-body, holds answers past the
/// client's timeout, answers 5xx instead of the paid answer; and a chain RPC that times out or lies about its chain id.
/// Each fault runs several paid calls in a row (trials). After every trial the stores the client holds through their
/// abstractions (<see cref="ISpendLedger"/>, <see cref="IPaymentJournal"/>, <see cref="IReceiptStore"/>,
/// <see cref="IChannelStore"/>, in-memory defaults) are checked against what the kit's chain says moved: nothing paid
/// twice, nothing taken that the budget does not count, no reservation left behind.
/// </summary>
[NonParallelizable]
public sealed class ChaosTests
{
    private const decimal Price = 0.01m;
    private const int Trials = 8;

    public static IEnumerable<TestCaseData> ChargeFaults()
    {
        yield return Case("drop after reading the credential", OnCredential(new Fault(FaultKind.DropAfterReading)), reachesServer: false, Outcome.Unknown);
        yield return Case("drop after forwarding the credential", OnCredential(new Fault(FaultKind.ForwardThenDrop)), reachesServer: true, Outcome.Unknown);
        yield return Case("reset mid-body after the paid answer's headers", OnCredential(new Fault(FaultKind.ForwardThenResetMidBody)), reachesServer: true, Outcome.SettledThenBodyFails);
        yield return Case("hold the answer past the client timeout (not forwarded)", OnCredential(new Fault(FaultKind.Hold, Hold: TimeSpan.FromSeconds(10))), reachesServer: false, Outcome.Unknown);
        yield return Case("hold the answer past the client timeout (server paid)", OnCredential(new Fault(FaultKind.ForwardThenHold, Hold: TimeSpan.FromSeconds(10))), reachesServer: true, Outcome.Unknown);
        yield return Case("503 to the paid request, no retry handler", OnCredential(new Fault(FaultKind.AnswerInstead, 503)), reachesServer: false, Outcome.UnknownAnswer);
        yield return Case("503 then 200 on the resend (retry inside the payment handler)", FirstSendOfEachCredential(new Fault(FaultKind.AnswerInstead, 503)), reachesServer: true, Outcome.Settled, innerRetry: true);
        yield return Case("503 after settling, resend refused as used (retry inside)", FirstSendOfEachCredential(new Fault(FaultKind.ForwardThenAnswer, 503)), reachesServer: true, Outcome.Unknown, innerRetry: true);

        static TestCaseData Case(string name, Func<Func<ProxiedRequest, Fault>> faults, bool reachesServer, Outcome outcome, bool innerRetry = false)
            => new TestCaseData(name, faults, reachesServer, outcome, innerRetry).SetName($"Charge_under_{Slug(name)}_pays_at_most_once_and_keeps_the_stores_true");
    }

    /// <summary>How each trial of a fault ends for the caller.</summary>
    public enum Outcome
    {
        /// <summary>A 2xx, settled.</summary>
        Settled,

        /// <summary>The handler settles the 2xx, then reading its body fails.</summary>
        SettledThenBodyFails,

        /// <summary><see cref="PaymentOutcomeUnknownException"/>.</summary>
        Unknown,

        /// <summary>The 5xx comes back, its outcome unknown.</summary>
        UnknownAnswer,
    }

    [TestCaseSource(nameof(ChargeFaults))]
    public async Task Charge_calls_under_a_hostile_server(string fault, Func<Func<ProxiedRequest, Fault>> faults, bool reachesServer, Outcome outcome, bool innerRetry)
    {
        await using var server = await MppTestServer.StartAsync(o => o.Routes["/paid"] = TestRoute.Charge(Price));
        await using var proxy = await FaultProxy.StartAsync(server.BaseAddress, faults());
        var payer = server.CreateFundedAccount(1m);
        await using var client = PayingClient.Create(server, payer, new PayingClientOptions
        {
            Server = proxy.BaseAddress,
            Rpc = server.RpcUrl,
            Timeout = TimeSpan.FromSeconds(2),
            Total = 1m,
            AfterPayments = innerRetry ? b => Resilience.ResilienceCompositionTests.Add(b, Resilience.RetryStack.StandardResilienceHandler) : null,
        });
        var price = client.Asset.ToAtomic(Price);
        var figures = new Tally(fault);

        for (var trial = 0; trial < Trials; trial++)
        {
            var paymentsBefore = server.Ledger.Payments.Count;
            var balanceBefore = server.Ledger.BalanceOf(payer.Address);
            var countedBefore = await client.SpentAsync();
            Exception? failure = null;
            HttpResponseMessage? answer = null;
            try
            {
                answer = await client.Client.GetAsync(new Uri("/paid", UriKind.Relative));
            }
            catch (Exception ex)
            {
                failure = ex;
            }

            using (answer)
            {
                switch (outcome)
                {
                    case Outcome.Settled:
                        Assert.That(answer?.GetPaymentDetails()?.Outcome, Is.EqualTo(PaymentOutcome.Settled), failure?.ToString());
                        break;
                    case Outcome.SettledThenBodyFails:
                        Assert.That(failure, Is.InstanceOf<HttpRequestException>().Or.InstanceOf<IOException>().Or.InstanceOf<TaskCanceledException>(), "the body failed");
                        break;
                    case Outcome.Unknown:
                        Assert.That(failure, Is.InstanceOf<PaymentOutcomeUnknownException>(), failure?.ToString());
                        break;
                    case Outcome.UnknownAnswer:
                        Assert.That((answer?.StatusCode, answer?.GetPaymentDetails()?.Outcome), Is.EqualTo(((System.Net.HttpStatusCode?)System.Net.HttpStatusCode.ServiceUnavailable, (PaymentOutcome?)PaymentOutcome.Unknown)));
                        break;
                }
            }

            var counted = await client.SpentAsync();
            var made = server.Ledger.Payments.Count - paymentsBefore;
            var taken = balanceBefore - server.Ledger.BalanceOf(payer.Address);
            figures.Trial(made, reachesServer ? 1 : 0, taken - (counted.Total - countedBefore.Total), counted.Reserved);
            Assert.That(made, Is.EqualTo(reachesServer ? 1 : 0), $"trial {trial}: payments the kit recorded");
            Assert.That(counted.Total - countedBefore.Total, Is.EqualTo(price), $"trial {trial}: the budget counts the credential sent, once");
        }

        // The stores, through their abstractions: one journal entry per call, none left pending; receipts only for settled calls.
        var journal = await client.JournalAsync();
        Assert.That(journal, Has.Count.EqualTo(Trials));
        Assert.That(journal.Select(e => e.State), Has.None.EqualTo(JournalState.Pending));
        var settled = outcome is Outcome.Settled or Outcome.SettledThenBodyFails;
        Assert.That(journal.Select(e => e.State), Is.All.EqualTo(settled ? JournalState.Settled : JournalState.Unknown));
        Assert.That(await client.ReceiptsAsync(), Has.Count.EqualTo(settled ? Trials : 0));
        var spent = await client.SpentAsync();
        Assert.That((spent.Committed, spent.Unknown), Is.EqualTo(settled ? (price * Trials, BigInteger.Zero) : (BigInteger.Zero, price * Trials)));
        Assert.That(client.Signer.Signatures, Is.EqualTo(Trials), "one signature per call");
        figures.Report();
    }

    [TestCase(FaultKind.DropAfterReading, false, TestName = "Session_vouchers_dropped_after_reading_are_unknown_never_signed_twice")]
    [TestCase(FaultKind.ForwardThenDrop, true, TestName = "Session_vouchers_dropped_after_forwarding_are_unknown_never_signed_twice")]
    [TestCase(FaultKind.ForwardThenResetMidBody, true, TestName = "Session_vouchers_reset_mid_body_are_settled_once")]
    [TestCase(FaultKind.ForwardThenHold, true, TestName = "Session_vouchers_held_past_the_timeout_are_unknown_never_signed_twice")]
    public async Task Session_calls_under_a_hostile_server(FaultKind kind, bool reachesServer)
    {
        const decimal unit = 0.001m;
        await using var server = await MppTestServer.StartAsync(o => o.Routes["/chat"] = TestRoute.Session(unit, suggestedDeposit: 0.1m));
        var faulting = false; // the open and the close go through; the faults hit the vouchers of the trials
        await using var proxy = await FaultProxy.StartAsync(server.BaseAddress, r => r.HasCredential && Volatile.Read(ref faulting) ? new Fault(kind, Hold: TimeSpan.FromSeconds(10)) : Fault.Forward);
        var payer = server.CreateFundedAccount(1m);
        await using var client = PayingClient.Create(server, payer, new PayingClientOptions { Server = proxy.BaseAddress, Rpc = server.RpcUrl, Timeout = TimeSpan.FromSeconds(2), Total = 1m });
        var price = client.Asset.ToAtomic(unit);
        var balanceBefore = server.Ledger.BalanceOf(payer.Address);
        using (var open = await client.Client.GetAsync(new Uri("/chat", UriKind.Relative)))
        {
            Assert.That(open.IsSuccessStatusCode, Is.True);
        }

        var figures = new Tally($"session voucher: {kind}");
        Volatile.Write(ref faulting, true);
        for (var trial = 0; trial < Trials; trial++)
        {
            var channelBefore = server.Ledger.Channels.Single();
            var storedBefore = (await client.ChannelsAsync()).Single();
            try
            {
                using var answer = await client.Client.GetAsync(new Uri("/chat", UriKind.Relative));
            }
            catch (Exception ex) when (ex is PaymentOutcomeUnknownException or HttpRequestException or IOException or TaskCanceledException)
            {
                // the fault's outcome for the caller; the stores say the rest
            }

            var channel = server.Ledger.Channels.Single();
            var stored = (await client.ChannelsAsync()).Single();
            var units = (int)(channel.Units - channelBefore.Units);
            Assert.That(units, Is.EqualTo(reachesServer ? 1 : 0), $"trial {trial}: calls the server billed");
            Assert.That(stored.HighestSigned - storedBefore.HighestSigned, Is.EqualTo(price), $"trial {trial}: one voucher signed per call, one unit above the last");
            Assert.That(stored.HighestSigned, Is.GreaterThanOrEqualTo(channel.AcceptedCumulative), "the server never holds a voucher above what the store recorded before it left");
            figures.Trial(units, reachesServer ? 1 : 0, BigInteger.Zero, BigInteger.Zero);
        }

        // Close: the server settles what it accepted, the refund comes back, and the budget counts exactly what left the wallet.
        Volatile.Write(ref faulting, false);
        var closed = (await client.Sessions.CloseAllAsync()).Single();
        Assert.That(closed.Error, Is.Null);
        var spent = await client.SpentAsync();
        var taken = balanceBefore - server.Ledger.BalanceOf(payer.Address);
        Assert.That(taken, Is.EqualTo(server.Ledger.Channels.Single().Settled));
        Assert.That(spent.Committed + spent.Unknown, Is.GreaterThanOrEqualTo(taken), "nothing left the wallet that the budget does not count");
        Assert.That(spent.Reserved.IsZero, Is.True, "no reservation left once the channel closed");
        Assert.That((await client.ChannelsAsync()).Single().State, Is.EqualTo(SessionChannelState.Closed));
        figures.Close(BigInteger.Max(BigInteger.Zero, taken - (spent.Committed + spent.Unknown)), spent.Reserved);
        figures.Report();

        // The close carries the highest voucher signed (an authorization up to that amount); the server settles what it
        // served, and the rest of the deposit comes back.
        var served = server.Ledger.Channels.Single().Units;
        Assert.That(taken, Is.EqualTo(price * served), "settled: the calls the server served, once each");
        TestContext.Out.WriteLine($"chaos note | session voucher: {kind} | calls served {served} of {Trials + 1}, settled at close {taken}, highest voucher signed {price * (Trials + 1)}");
    }

    [Test]
    public async Task A_chain_rpc_that_times_out_makes_charges_fail_before_signing_and_leaves_nothing_reserved()
    {
        await using var server = await MppTestServer.StartAsync(o => o.Routes["/paid"] = TestRoute.Charge(Price));
        await using var proxy = await FaultProxy.StartAsync(server.BaseAddress, _ => Fault.Forward);
        await using var rpc = await FaultProxy.StartAsync(server.BaseAddress, _ => new Fault(FaultKind.Hold, Hold: TimeSpan.FromSeconds(10)));
        var payer = server.CreateFundedAccount(1m);
        await using var client = PayingClient.Create(server, payer, new PayingClientOptions
        {
            Server = proxy.BaseAddress,
            Rpc = new Uri(rpc.BaseAddress, "rpc"),
            RpcTimeout = TimeSpan.FromMilliseconds(300),
            RpcRetries = 1,
        });

        var figures = new Tally("chain RPC times out");
        for (var trial = 0; trial < Trials; trial++)
        {
            Assert.That(() => client.Client.GetAsync(new Uri("/paid", UriKind.Relative)), Throws.InstanceOf<TempoRpcException>().With.Message.Contains("eth_fillTransaction"));
            var spent = await client.SpentAsync();
            figures.Trial(server.Ledger.Payments.Count, 0, BigInteger.Zero, spent.Reserved);
            Assert.That(spent.Total.IsZero, Is.True, $"trial {trial}: the reservation was released");
        }

        Assert.That((client.Signer.Signatures, proxy.CredentialsSeen, server.Ledger.Payments.Count), Is.EqualTo((0, 0, 0)));
        Assert.That(await client.JournalAsync(), Is.Empty);
        Assert.That(rpc.Seen.Count, Is.EqualTo(Trials * 2), "each call tried the RPC twice (one retry), then gave up");
        figures.Report();
    }

    [Test]
    public async Task A_chain_rpc_that_lies_about_its_chain_id_is_refused_before_anything_is_signed()
    {
        await using var server = await MppTestServer.StartAsync(o =>
        {
            o.Routes["/paid"] = TestRoute.Charge(Price);
            o.Routes["/chat"] = TestRoute.Session(0.001m, suggestedDeposit: 0.1m);
        });
        await using var proxy = await FaultProxy.StartAsync(server.BaseAddress, _ => Fault.Forward);
        await using var rpc = await FaultProxy.StartAsync(server.BaseAddress, r => r.Body.Contains("\"eth_chainId\"", StringComparison.Ordinal)
            ? new Fault(FaultKind.ForwardThenRewrite, Rewrite: body => System.Text.RegularExpressions.Regex.Replace(body, "\"result\":\"0x[0-9a-f]+\"", "\"result\":\"0x1\""))
            : Fault.Forward);
        var payer = server.CreateFundedAccount(1m);
        await using var client = PayingClient.Create(server, payer, new PayingClientOptions { Server = proxy.BaseAddress, Rpc = new Uri(rpc.BaseAddress, "rpc") });

        var figures = new Tally("chain RPC lies about the chain id");
        for (var trial = 0; trial < Trials; trial++)
        {
            var path = trial % 2 == 0 ? "/paid" : "/chat";
            var denied = Assert.ThrowsAsync<PaymentDeniedException>(() => client.Client.GetAsync(new Uri(path, UriKind.Relative)));
            Assert.That(denied!.Rule, Is.EqualTo("tempo.chain"), path);
            var spent = await client.SpentAsync();
            figures.Trial(server.Ledger.Payments.Count + server.Ledger.Channels.Count, 0, BigInteger.Zero, spent.Reserved);
            Assert.That(spent.Total.IsZero, Is.True);
        }

        Assert.That((client.Signer.Signatures, proxy.CredentialsSeen, server.Ledger.Payments.Count, server.Ledger.Channels.Count), Is.EqualTo((0, 0, 0, 0)));
        Assert.That(await client.JournalAsync(), Is.Empty);
        Assert.That(await client.ChannelsAsync(), Is.Empty, "no channel was opened");
        figures.Report();
    }

    private static Func<Func<ProxiedRequest, Fault>> OnCredential(Fault fault) => () => r => r.HasCredential ? fault : Fault.Forward;

    /// <summary>The fault for the first send of each credential; a resend of the same credential goes through.</summary>
    private static Func<Func<ProxiedRequest, Fault>> FirstSendOfEachCredential(Fault fault) => () =>
    {
        var seen = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        return r => r.HasCredential && seen.AddOrUpdate(r.Authorization!, 1, (_, n) => n + 1) == 1 ? fault : Fault.Forward;
    };

    private static string Slug(string name)
        => string.Concat(name.Select(c => char.IsLetterOrDigit(c) ? c : '_')).Replace("__", "_", StringComparison.Ordinal).Trim('_');

    /// <summary>Adds up one fault's trials and prints its line of the docs/reliability.md table.</summary>
    private sealed class Tally(string fault)
    {
        private int _trials;
        private int _made;
        private int _expected;
        private int _doubles;
        private BigInteger _overspend;
        private BigInteger _lost;

        public void Trial(int made, int expected, BigInteger overspend, BigInteger lost)
        {
            _trials++;
            _made += made;
            _expected += expected;
            _doubles += Math.Max(0, made - 1);
            _overspend += BigInteger.Max(BigInteger.Zero, overspend);
            _lost += lost;
            Assert.That((Math.Max(0, made - 1), overspend.Sign <= 0, lost.IsZero), Is.EqualTo((0, true, true)), $"{fault}: a double payment, an overspend or a lost reservation");
        }

        public void Close(BigInteger overspend, BigInteger lost)
        {
            _overspend += overspend;
            _lost += lost;
        }

        public void Report()
        {
            var figures = new ChaosFigures(fault, _trials, _made, _expected, _doubles, _overspend, _lost);
            Assert.That((figures.DoublePayments, figures.Overspend.IsZero, figures.LostReservations.IsZero), Is.EqualTo((0, true, true)));
            TestContext.Out.WriteLine("chaos " + figures);
        }
    }
}
