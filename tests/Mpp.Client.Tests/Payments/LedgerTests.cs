using System.Diagnostics;
using System.Globalization;
using System.Numerics;

namespace Mpp.Client.Tests.Payments;

/// <summary>A clock the test moves by hand.</summary>
internal sealed class ManualTimeProvider(DateTimeOffset start) : TimeProvider
{
    private DateTimeOffset _now = start;

    public override DateTimeOffset GetUtcNow() => _now;

    public void Advance(TimeSpan by) => _now += by;
}

public sealed class LedgerTests
{
    private static readonly AssetId Coin = TestChargeMethod.Coin.Id;

    private static SpendRequest Spend(SpendLimit limit, BigInteger amount, string host = "a.example.com", BigInteger? perRequest = null, string scope = "s")
        => new(scope, host, new AssetAmount(Coin, amount), perRequest ?? amount, limit, "ref");

    private static IEnumerable<Func<TimeProvider, ISpendLedger>> Ledgers()
    {
        yield return time => new InMemorySpendLedger(time);
        yield return time => new FileSpendLedger(Path.Combine(Path.GetTempPath(), "mpp-ledger-" + Guid.NewGuid().ToString("N"), "ledger.json"), time);
    }

    [TestCaseSource(nameof(Ledgers))]
    public async Task Every_limit_is_enforced_and_released_money_returns(Func<TimeProvider, ISpendLedger> create)
    {
        var time = new ManualTimeProvider(new DateTimeOffset(2026, 11, 20, 0, 0, 0, TimeSpan.Zero));
        var ledger = create(time);
        var limit = new SpendLimit(Coin, perRequest: 50, perHost: 80, total: 100, windows: [new SpendWindow(TimeSpan.FromHours(1), 60)]);

        Assert.That((await ledger.TryReserveAsync(Spend(limit, 51), default)).Rule, Is.EqualTo("budget.per-request"));
        var first = await ledger.TryReserveAsync(Spend(limit, 40), default);
        Assert.That(first.Succeeded, Is.True);
        Assert.That((await ledger.TryReserveAsync(Spend(limit, 30), default)).Rule, Is.EqualTo("budget.window"));
        await ledger.ReleaseAsync(first.Reservation!, default);
        var second = await ledger.TryReserveAsync(Spend(limit, 50), default);
        await ledger.CommitAsync(second.Reservation!, default);
        time.Advance(TimeSpan.FromMinutes(61));
        Assert.That((await ledger.TryReserveAsync(Spend(limit, 31), default)).Rule, Is.EqualTo("budget.per-host"));
        var third = await ledger.TryReserveAsync(Spend(limit, 40, host: "b.example.com"), default);
        await ledger.MarkUnknownAsync(third.Reservation!, default);
        await ledger.ReleaseAsync(third.Reservation!, default); // an unknown outcome is never released
        Assert.That((await ledger.TryReserveAsync(Spend(limit, 11, host: "c.example.com"), default)).Rule, Is.EqualTo("budget.total"));

        var summary = await ledger.GetSummaryAsync("s", Coin, default);
        Assert.That((summary.Committed, summary.Unknown, summary.Reserved), Is.EqualTo((new BigInteger(50), new BigInteger(40), BigInteger.Zero)));
        Assert.That((await ledger.GetSummaryAsync("other", Coin, default)).Total, Is.EqualTo(BigInteger.Zero), "scopes do not share spending");
        (ledger as IDisposable)?.Dispose();
    }

    [TestCaseSource(nameof(Ledgers))]
    public async Task A_session_deposit_counts_against_the_total_but_only_the_price_against_the_per_request_limit(Func<TimeProvider, ISpendLedger> create)
    {
        var ledger = create(TimeProvider.System);
        var limit = new SpendLimit(Coin, perRequest: 1, total: 1000);

        var open = await ledger.TryReserveAsync(Spend(limit, 900, perRequest: 1), default);
        var tooMuch = await ledger.TryReserveAsync(Spend(limit, 200, perRequest: 1), default);

        Assert.That(open.Succeeded, Is.True);
        Assert.That(tooMuch.Rule, Is.EqualTo("budget.total"));
        (ledger as IDisposable)?.Dispose();
    }

    [Test]
    public async Task Old_spending_is_folded_but_still_counts_towards_the_total()
    {
        var time = new ManualTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var path = Path.Combine(Path.GetTempPath(), "mpp-ledger-" + Guid.NewGuid().ToString("N"), "ledger.json");
        using var ledger = new FileSpendLedger(path, time);
        var limit = new SpendLimit(Coin, total: 100, windows: [new SpendWindow(TimeSpan.FromDays(1), 100)]);
        await ledger.CommitAsync((await ledger.TryReserveAsync(Spend(limit, 70), default)).Reservation!, default);

        time.Advance(TimeSpan.FromDays(40));
        var refused = await ledger.TryReserveAsync(Spend(limit, 31), default);
        var fits = await ledger.TryReserveAsync(Spend(limit, 30), default);

        Assert.That(refused.Rule, Is.EqualTo("budget.total"));
        Assert.That(fits.Succeeded, Is.True);
        Assert.That(File.ReadAllText(path), Does.Contain("\"folded\":[{"));
    }

    [Test]
    public async Task A_file_ledger_keeps_its_reservations_across_restarts()
    {
        var path = Path.Combine(Path.GetTempPath(), "mpp-ledger-" + Guid.NewGuid().ToString("N"), "ledger.json");
        var limit = new SpendLimit(Coin, total: 100);
        using (var first = new FileSpendLedger(path, TimeProvider.System))
        {
            Assert.That((await first.TryReserveAsync(Spend(limit, 60), default)).Succeeded, Is.True);
        }

        using var second = new FileSpendLedger(path, TimeProvider.System);

        Assert.That((await second.TryReserveAsync(Spend(limit, 41), default)).Rule, Is.EqualTo("budget.total"));
    }

    [Test]
    public void A_damaged_ledger_file_refuses_to_pay_rather_than_starting_afresh()
    {
        var path = Path.Combine(Path.GetTempPath(), "mpp-ledger-" + Guid.NewGuid().ToString("N"), "ledger.json");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, "{\"entries\":[{\"id\":");
        using var ledger = new FileSpendLedger(path, TimeProvider.System);

        var ex = Assert.ThrowsAsync<PaymentConfigurationException>(async () => await ledger.TryReserveAsync(Spend(new SpendLimit(Coin, total: 100), 1), default));

        Assert.That(ex!.Message, Does.Contain("damaged"));
    }

    [Test]
    public async Task Two_processes_sharing_a_durable_ledger_never_exceed_its_total()
    {
        var folder = Path.Combine(Path.GetTempPath(), "mpp-ledger-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        var ledger = Path.Combine(folder, "ledger.json");
        var start = Path.Combine(folder, "start");
        var probe = Path.Combine(TestContext.CurrentContext.TestDirectory, "Mpp.Client.LedgerProbe.dll");
        Assert.That(File.Exists(probe), Is.True, $"the ledger probe must be built beside the tests: {probe}");
        const int total = 600;

        var processes = Enumerable.Range(0, 2).Select(i => Process.Start(new ProcessStartInfo("dotnet", [probe, ledger, total.ToString(CultureInfo.InvariantCulture), "1", start, Path.Combine(folder, $"ready-{i}")])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!).ToList();

        // Both probes must be up before either starts spending, so they really contend for the budget.
        var waited = Stopwatch.StartNew();
        while (!(File.Exists(Path.Combine(folder, "ready-0")) && File.Exists(Path.Combine(folder, "ready-1"))) && waited.Elapsed < TimeSpan.FromMinutes(1))
        {
            await Task.Delay(10);
        }

        await File.WriteAllTextAsync(start, "go");
        var outputs = new List<int>();
        foreach (var process in processes)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
            var output = await process.StandardOutput.ReadToEndAsync(timeout.Token);
            await process.WaitForExitAsync(timeout.Token);
            Assert.That(process.ExitCode, Is.Zero, await process.StandardError.ReadToEndAsync());
            outputs.Add(int.Parse(output.Trim(), CultureInfo.InvariantCulture));
            process.Dispose();
        }

        Assert.That(outputs.Sum(), Is.EqualTo(total));
        Assert.That(outputs, Has.All.GreaterThan(0), "both processes should have got some of the budget (they ran concurrently)");
        using var check = new FileSpendLedger(ledger, TimeProvider.System);
        Assert.That((await check.GetSummaryAsync("shared", Coin, default)).Committed, Is.EqualTo(new BigInteger(total)));
    }
}

public sealed class StoreTests
{
    [Test]
    public async Task The_json_lines_journal_folds_updates_and_survives_a_torn_last_line()
    {
        var path = Path.Combine(Path.GetTempPath(), "mpp-journal-" + Guid.NewGuid().ToString("N"), "journal.jsonl");
        var journal = new JsonLinesPaymentJournal(path, TimeProvider.System);
        var entry = new JournalEntry(Guid.NewGuid(), DateTimeOffset.UnixEpoch, "c", "https://a", "/p", "ch", "test", "charge", "fiat:xts", "100", new string('a', 64), JournalState.Pending, null);
        var other = entry with { Id = Guid.NewGuid(), ChallengeId = "ch2" };
        await journal.RecordAsync(entry, default);
        await journal.RecordAsync(other, default);
        await journal.UpdateAsync(entry.Id, JournalState.Settled, "0xabc", default);
        await File.AppendAllTextAsync(path, "{\"Id\":\"torn");

        var entries = await new JsonLinesPaymentJournal(path, TimeProvider.System).GetAllAsync(default);

        Assert.That(entries.Select(e => (e.ChallengeId, e.State, e.Reference)), Is.EqualTo(new[] { ("ch", JournalState.Settled, (string?)"0xabc"), ("ch2", JournalState.Pending, null) }));
    }

    [Test]
    public async Task The_json_lines_receipt_store_reads_back_what_it_wrote()
    {
        var path = Path.Combine(Path.GetTempPath(), "mpp-receipts-" + Guid.NewGuid().ToString("N"), "receipts.jsonl");
        var store = new JsonLinesReceiptStore(path, TimeProvider.System);
        var receipt = new StoredReceipt(DateTimeOffset.UnixEpoch, "c", "https://a", "/p", "ch", "test", "charge", "fiat:xts", "100", "ref", "{\"status\":\"success\"}");

        await store.AddAsync(receipt, default);
        await store.AddAsync(receipt with { ChallengeId = "ch2" }, default);

        Assert.That((await store.GetAllAsync(default)).Select(r => r.ChallengeId), Is.EqualTo(new[] { "ch", "ch2" }));
    }
}
