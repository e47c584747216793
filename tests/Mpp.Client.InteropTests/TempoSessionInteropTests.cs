using System.Numerics;
using Microsoft.Extensions.DependencyInjection;
using Mpp.Client.Tempo;
using Mpp.Client.Tempo.Evm;

namespace Mpp.Client.InteropTests;

/// <summary>Tempo sessions end to end against the real mppx server and the local chain's channel escrow.</summary>
[Category("Interop")]
[NonParallelizable]
public sealed class TempoSessionInteropTests
{
    internal static readonly Asset PathUsd = TempoAssets.PathUsdOn(ReferenceServer.ChainId);

    internal static ServiceProvider Services(Action<TempoSessionOptions>? sessions = null, decimal total = 5m, IServiceCollection? services = null, string? database = null)
    {
        services ??= new ServiceCollection();
        var mpp = services.AddMpp();
        if (database is not null)
        {
            mpp.UseSqlite(database);
        }

        mpp
            .AddTempo(o =>
            {
                o.Signer = PrivateKeySigner.FromHex(ReferenceServer.PayerKey);
                o.RpcUrl = ReferenceServer.RpcUrl;
                o.ChainId = ReferenceServer.ChainId;
            })
            .AddTempoSessions(o =>
            {
                o.CloseOnShutdown = false;
                sessions?.Invoke(o);
            });
        services.AddHttpClient("paid", c => c.BaseAddress = ReferenceServer.Url).AddMppPayments(o =>
        {
            o.AllowInsecureLoopback = true; // the harness serves plain HTTP on 127.0.0.1
            o.Budget.Limit(PathUsd, perRequest: 0.05m, total: total);
        });
        services.AddHttpClient("counted", c => c.BaseAddress = ReferenceServer.Url).AddMppPayments(o =>
        {
            o.AllowInsecureLoopback = true;
            o.Budget.Scope = "paid";
            o.Budget.Limit(PathUsd, perRequest: 0.05m, total: total);
        }).AddHttpMessageHandler(sp => new WireCounter.Handler(sp.GetService<WireCounter>() ?? new WireCounter()));
        return services.BuildServiceProvider();
    }

    [Test]
    public async Task A_channel_opens_pays_fifty_calls_with_vouchers_and_closes_with_the_refund_on_chain()
    {
        await using var services = Services();
        var client = services.GetRequiredService<IHttpClientFactory>().CreateClient("paid");
        var manager = services.GetRequiredService<TempoSessionManager>();
        var ledger = services.GetRequiredService<ISpendLedger>();
        string? channelId = null;
        for (var i = 1; i <= 50; i++)
        {
            using var response = await client.GetAsync(new Uri("/session", UriKind.Relative));
            Assert.That((int)response.StatusCode, Is.EqualTo(200), await response.Content.ReadAsStringAsync());
            var receipt = response.GetPaymentReceipt();
            Assert.That(receipt, Is.Not.Null, $"call {i} has no receipt");
            Assert.That(receipt!.TryGetMember("acceptedCumulative", out var accepted), Is.True);
            Assert.That(accepted.GetString(), Is.EqualTo((i * 1000).ToString(System.Globalization.CultureInfo.InvariantCulture)), $"call {i}");
            channelId ??= receipt.Reference;
            Assert.That(receipt.Reference, Is.EqualTo(channelId), "every call uses the one channel");
        }

        var channel = manager.GetChannels().Single(c => c.ChannelId == channelId);
        Assert.That(channel.HighestSigned, Is.EqualTo(new BigInteger(50_000)));
        Assert.That(channel.Deposit, Is.EqualTo(new BigInteger(1_000_000)));
        var held = await ledger.GetSummaryAsync("paid", PathUsd.Id, default);
        Assert.That(held.Reserved, Is.EqualTo(new BigInteger(1_000_000)), "the deposit is locked in the budget while the channel is open");

        var closed = await manager.CloseAsync(channelId!);
        Assert.That(closed.SettledToPayee, Is.EqualTo(new BigInteger(50_000)));
        Assert.That(closed.RefundedToPayer, Is.EqualTo(new BigInteger(950_000)));
        var onChain = await ChannelClosedAsync(closed.TransactionHash, channelId!);
        Assert.That(onChain, Is.EqualTo((new BigInteger(50_000), new BigInteger(950_000))), "the ChannelClosed event on chain");
        var after = await ledger.GetSummaryAsync("paid", PathUsd.Id, default);
        Assert.That((after.Reserved, after.Committed), Is.EqualTo((BigInteger.Zero, new BigInteger(50_000))), "the settlement is spent, the refund is back in the budget");
        Assert.That(manager.VouchersRejected, Is.Zero);
    }

    [Test]
    public async Task A_streamed_response_is_paid_per_token_with_voucher_posts_and_a_spend_cap_ends_a_stream_cleanly()
    {
        await using var services = Services();
        var client = services.GetRequiredService<IHttpClientFactory>().CreateClient("paid");
        var manager = services.GetRequiredService<TempoSessionManager>();
        using (var opened = await client.GetAsync(new Uri("/session", UriKind.Relative)))
        {
            Assert.That((int)opened.StatusCode, Is.EqualTo(200));
        }

        var texts = new List<string>();
        using (var stream = await manager.StreamAsync(client, new HttpRequestMessage(HttpMethod.Get, new Uri("/stream", UriKind.Relative))))
        {
            await foreach (var message in stream)
            {
                texts.Add(message.Data);
                Assert.That(message.Spent, Is.EqualTo(new BigInteger(100 * texts.Count)), "live cost: 0.0001 pathUSD per token so far");
            }

            Assert.That(stream.End, Is.EqualTo(PaidStreamEnd.Completed));
            Assert.That(texts, Has.Count.EqualTo(6), string.Join(" ", texts));
            Assert.That(stream.Spent, Is.EqualTo(new BigInteger(600)));
            Assert.That(stream.VouchersSent, Is.EqualTo(5), "the paid GET carries the first voucher, each later token one POST");
            Assert.That(stream.FinalReceipt, Is.Not.Null);
            Assert.That(stream.FinalReceipt!.TryGetMember("spent", out _), Is.True);
        }

        using (var capped = await manager.StreamAsync(client, new HttpRequestMessage(HttpMethod.Get, new Uri("/stream", UriKind.Relative)), maxSpend: 0.0003m))
        {
            var count = 0;
            await foreach (var message in capped)
            {
                count++;
                Assert.That(message.Spent, Is.LessThanOrEqualTo(new BigInteger(300)));
            }

            Assert.That(capped.End, Is.EqualTo(PaidStreamEnd.SpendCapReached));
            Assert.That(count, Is.EqualTo(3));
            Assert.That(capped.Spent, Is.EqualTo(new BigInteger(300)), "nothing was signed past the cap");
        }

        Assert.That(manager.VouchersRejected, Is.Zero);
        var channel = manager.GetChannels().Single(c => c.State == SessionChannelState.Open);
        var closed = await manager.CloseAsync(channel.ChannelId);
        Assert.That(closed.SettledToPayee + closed.RefundedToPayer, Is.EqualTo(channel.Deposit));
        Assert.That(closed.SettledToPayee, Is.LessThanOrEqualTo(channel.HighestSigned));
    }

    [Test]
    public async Task A_channel_short_of_deposit_is_topped_up_within_the_budget_and_keeps_paying()
    {
        await using var services = Services(o => o.Deposit = 0.003m);
        var client = services.GetRequiredService<IHttpClientFactory>().CreateClient("paid");
        var manager = services.GetRequiredService<TempoSessionManager>();
        var ledger = services.GetRequiredService<ISpendLedger>();
        for (var i = 1; i <= 5; i++)
        {
            using var response = await client.GetAsync(new Uri("/session", UriKind.Relative));
            Assert.That((int)response.StatusCode, Is.EqualTo(200), $"call {i}: " + await response.Content.ReadAsStringAsync());
        }

        var channel = manager.GetChannels().Single(c => c.State == SessionChannelState.Open);
        Assert.That(channel.Deposit, Is.EqualTo(new BigInteger(6000)), "3000 opened, 3000 topped up on the fourth call");
        Assert.That(channel.Reservations, Has.Count.EqualTo(2));
        Assert.That((await ledger.GetSummaryAsync("paid", PathUsd.Id, default)).Reserved, Is.EqualTo(new BigInteger(6000)));
        var closed = await manager.CloseAsync(channel.ChannelId);
        Assert.That((closed.SettledToPayee, closed.RefundedToPayer), Is.EqualTo((new BigInteger(5000), new BigInteger(1000))));
        Assert.That(await ChannelClosedAsync(closed.TransactionHash, channel.ChannelId), Is.EqualTo((new BigInteger(5000), new BigInteger(1000))));
        var after = await ledger.GetSummaryAsync("paid", PathUsd.Id, default);
        Assert.That((after.Reserved, after.Committed), Is.EqualTo((BigInteger.Zero, new BigInteger(5000))));
    }

    [Test]
    public async Task Thirty_two_concurrent_callers_share_one_channel_without_a_single_rejected_voucher()
    {
        var services = new ServiceCollection();
        var wire = new WireCounter();
        services.AddSingleton(wire);
        await using var provider = Services(services: services);
        var client = provider.GetRequiredService<IHttpClientFactory>().CreateClient("counted");
        var manager = provider.GetRequiredService<TempoSessionManager>();
        const int Callers = 32, CallsEach = 5;
        var statuses = await Task.WhenAll(Enumerable.Range(0, Callers).Select(async _ =>
        {
            var codes = new List<int>();
            for (var i = 0; i < CallsEach; i++)
            {
                using var response = await client.GetAsync(new Uri("/session", UriKind.Relative));
                codes.Add((int)response.StatusCode);
            }

            return codes;
        }));
        Assert.That(statuses.SelectMany(c => c), Has.All.EqualTo(200));
        Assert.That(wire.RejectedCredentials, Is.Zero, "no request that carried a voucher was answered with a 4xx");
        Assert.That(manager.VouchersRejected, Is.Zero);
        var channel = manager.GetChannels().Single(c => c.State == SessionChannelState.Open);
        Assert.That(channel.HighestSigned, Is.EqualTo(new BigInteger(Callers * CallsEach * 1000)), "one channel, one voucher per call");
        await manager.CloseAsync(channel.ChannelId);
    }

    [Test]
    public async Task A_process_killed_after_persisting_a_voucher_and_before_sending_it_resumes_without_signing_lower_or_losing_funds()
    {
        var directory = Path.Combine(Path.GetTempPath(), "mpp-session-probe-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        try
        {
            // First life: open (1000) and pay two more calls (3000); the fourth voucher (4000) is persisted, then the process freezes and is killed.
            var database = Path.Combine(directory, "mpp.db");
            var first = await RunProbeAsync(database, calls: 10, freezeAt: 4000, killOnPersist: true);
            Assert.That(first, Has.Some.StartsWith("PERSISTED"), string.Join("\n", first));
            var channelId = first.Single(l => l.StartsWith("PERSISTED", StringComparison.Ordinal)).Split(' ')[1];
            Assert.That(first.Count(l => l.StartsWith("PAID 200", StringComparison.Ordinal)), Is.EqualTo(3));

            // Second life: the same store; the channel comes back with 4000 as the floor, and the next voucher is 5000.
            var second = await RunProbeAsync(database, calls: 2, freezeAt: null, killOnPersist: false);
            Assert.That(second, Has.Some.EqualTo($"RECOVERED {channelId} Open 4000"), string.Join("\n", second));
            Assert.That(second.Where(l => l.StartsWith("PAID", StringComparison.Ordinal)), Is.EqualTo(new[] { $"PAID 200 {channelId} 5000", $"PAID 200 {channelId} 6000" }));

            // Close from a third manager on the same store: the payee gets what the server charged (five calls), the rest comes back.
            await using var services = Services(database: database);
            var manager = services.GetRequiredService<TempoSessionManager>();
            await manager.RecoverAsync();
            var closed = await manager.CloseAsync(channelId);
            Assert.That(closed.SettledToPayee, Is.EqualTo(new BigInteger(5000)), "five calls were served; the voucher that never left cost nothing");
            Assert.That(closed.RefundedToPayer, Is.EqualTo(new BigInteger(995_000)));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static async Task<List<string>> RunProbeAsync(string database, int calls, int? freezeAt, bool killOnPersist)
    {
        var probe = Path.Combine(AppContext.BaseDirectory, "Mpp.Client.SessionProbe.dll");
        var start = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { probe, database, calls.ToString(System.Globalization.CultureInfo.InvariantCulture) }.Concat(freezeAt is { } f ? [f.ToString(System.Globalization.CultureInfo.InvariantCulture)] : []))
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["MPP_PRIVATE_KEY"] = ReferenceServer.PayerKey;
        using var process = System.Diagnostics.Process.Start(start)!;
        var lines = new List<string>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (await process.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
        {
            lines.Add(line);
            if (killOnPersist && line.StartsWith("PERSISTED", StringComparison.Ordinal))
            {
                process.Kill(entireProcessTree: true);
                break;
            }
        }

        await process.WaitForExitAsync(timeout.Token);
        if (!killOnPersist)
        {
            Assert.That(process.ExitCode, Is.Zero, await process.StandardError.ReadToEndAsync());
        }

        return lines;
    }

    internal static async Task<(BigInteger Settled, BigInteger Refunded)> ChannelClosedAsync(string transactionHash, string channelId)
    {
        var receipt = await ReferenceServer.TransactionReceiptAsync(transactionHash);
        var topic = Hex.Encode(Keccak.Hash("ChannelClosed(bytes32,address,address,uint96,uint96)"));
        var log = receipt.GetProperty("logs").EnumerateArray().Single(l => l.GetProperty("topics")[0].GetString() == topic && l.GetProperty("topics")[1].GetString() == channelId);
        var data = Hex.Decode(log.GetProperty("data").GetString()!);
        return (new BigInteger(data.AsSpan(0, 32), isUnsigned: true, isBigEndian: true), new BigInteger(data.AsSpan(32, 32), isUnsigned: true, isBigEndian: true));
    }

}

/// <summary>Counts, inside the payment handler, requests that carried a Payment credential and were answered 4xx.</summary>
internal sealed class WireCounter
{
    private int _rejected;

    public int RejectedCredentials => _rejected;

    public sealed class Handler(WireCounter counter) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = await base.SendAsync(request, cancellationToken);
            if ((int)response.StatusCode is >= 400 and < 500 && request.Headers.TryGetValues("Authorization", out var values) && values.Any(v => v.StartsWith("Payment ", StringComparison.Ordinal)))
            {
                Interlocked.Increment(ref counter._rejected);
            }

            return response;
        }
    }
}
