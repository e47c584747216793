using System.Numerics;

namespace Mpp.Client.Storage.Tests;

/// <summary>A clock the test moves by hand.</summary>
internal sealed class ManualTimeProvider(DateTimeOffset start) : TimeProvider
{
    private DateTimeOffset _now = start;

    public override DateTimeOffset GetUtcNow() => _now;

    public void Advance(TimeSpan by) => _now += by;
}

/// <summary>What every ledger must do, on every back end.</summary>
[TestFixture(Backend.Memory)]
[TestFixture(Backend.Sqlite)]
[TestFixture(Backend.Postgres, Category = "Postgres")]
public sealed class LedgerContractTests(Backend backend)
{
    private static readonly AssetId Coin = AssetId.Fiat("xts");

    internal static SpendRequest Spend(SpendLimit limit, BigInteger amount, string host = "a.example.com", BigInteger? perRequest = null, string scope = "s")
        => new(scope, host, new AssetAmount(Coin, amount), perRequest ?? amount, limit, "ref");

    [Test]
    public async Task Every_limit_is_enforced_and_released_money_returns()
    {
        var time = new ManualTimeProvider(new DateTimeOffset(2026, 11, 20, 0, 0, 0, TimeSpan.Zero));
        using var stores = Stores.Create(backend, time);
        var ledger = stores.Ledger;
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
    }

    [Test]
    public async Task A_session_deposit_counts_against_the_total_but_only_the_price_against_the_per_request_limit()
    {
        using var stores = Stores.Create(backend);
        var limit = new SpendLimit(Coin, perRequest: 1, total: 1000);

        var open = await stores.Ledger.TryReserveAsync(Spend(limit, 900, perRequest: 1), default);
        var tooMuch = await stores.Ledger.TryReserveAsync(Spend(limit, 200, perRequest: 1), default);

        Assert.That(open.Succeeded, Is.True);
        Assert.That(tooMuch.Rule, Is.EqualTo("budget.total"));
    }

    [Test]
    public async Task A_part_commit_keeps_the_spent_part_and_returns_the_rest_even_from_unknown()
    {
        using var stores = Stores.Create(backend);
        var limit = new SpendLimit(Coin, total: 1000);
        var deposit = (await stores.Ledger.TryReserveAsync(Spend(limit, 900), default)).Reservation!;
        var unknown = (await stores.Ledger.TryReserveAsync(Spend(limit, 100), default)).Reservation!;
        await stores.Ledger.MarkUnknownAsync(unknown, default);

        await stores.Ledger.CommitPartAsync(deposit, 300, default);
        await stores.Ledger.CommitPartAsync(unknown, 0, default);
        await stores.Ledger.CommitPartAsync(deposit, 900, default); // settled already: nothing moves

        var summary = await stores.Ledger.GetSummaryAsync("s", Coin, default);
        Assert.That((summary.Committed, summary.Reserved, summary.Unknown), Is.EqualTo((new BigInteger(300), BigInteger.Zero, BigInteger.Zero)));
        Assert.That((await stores.Ledger.TryReserveAsync(Spend(limit, 700), default)).Succeeded, Is.True);
    }

    [Test]
    public async Task Spending_older_than_every_window_still_counts_towards_the_total()
    {
        var time = new ManualTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        using var stores = Stores.Create(backend, time);
        var limit = new SpendLimit(Coin, total: 100, windows: [new SpendWindow(TimeSpan.FromDays(1), 100)]);
        await stores.Ledger.CommitAsync((await stores.Ledger.TryReserveAsync(Spend(limit, 70), default)).Reservation!, default);

        time.Advance(TimeSpan.FromDays(40));
        var refused = await stores.Ledger.TryReserveAsync(Spend(limit, 31), default);
        var fits = await stores.Ledger.TryReserveAsync(Spend(limit, 30), default);

        Assert.That(refused.Rule, Is.EqualTo("budget.total"));
        Assert.That(fits.Succeeded, Is.True);
    }

    [Test]
    public async Task A_rolling_window_counts_exactly_what_was_spent_after_its_start()
    {
        var time = new ManualTimeProvider(new DateTimeOffset(2026, 11, 20, 10, 0, 30, TimeSpan.Zero));
        using var stores = Stores.Create(backend, time);
        var limit = new SpendLimit(Coin, windows: [new SpendWindow(TimeSpan.FromHours(1), 20)]);
        await stores.Ledger.CommitAsync((await stores.Ledger.TryReserveAsync(Spend(limit, 10), default)).Reservation!, default);
        time.Advance(TimeSpan.FromSeconds(20));
        await stores.Ledger.MarkUnknownAsync((await stores.Ledger.TryReserveAsync(Spend(limit, 5), default)).Reservation!, default);

        // The window now starts at 10:00:40, in the middle of the minute both were spent in: only the second counts.
        time.Advance(TimeSpan.FromMinutes(59) + TimeSpan.FromSeconds(50));

        Assert.That((await stores.Ledger.TryReserveAsync(Spend(limit, 16), default)).Rule, Is.EqualTo("budget.window"));
        Assert.That((await stores.Ledger.TryReserveAsync(Spend(limit, 15), default)).Succeeded, Is.True);
    }

    [Test]
    public async Task Five_hundred_concurrent_reservations_never_exceed_the_total()
    {
        using var stores = Stores.Create(backend);
        var limit = new SpendLimit(Coin, total: 200);

        var results = await Task.WhenAll(Enumerable.Range(0, 500).Select(i => Task.Run(async () =>
        {
            var result = await stores.Ledger.TryReserveAsync(Spend(limit, 1, host: "h" + (i % 7)), default);
            if (result.Succeeded && i % 2 == 0)
            {
                await stores.Ledger.CommitAsync(result.Reservation, default);
            }

            return result.Succeeded;
        })));

        Assert.That(results.Count(r => r), Is.EqualTo(200));
        Assert.That((await stores.Ledger.GetSummaryAsync("s", Coin, default)).Total, Is.EqualTo(new BigInteger(200)));
    }
}

/// <summary>What only a durable ledger, journal and receipt store must do: survive the process.</summary>
[TestFixture(Backend.Sqlite)]
[TestFixture(Backend.Postgres, Category = "Postgres")]
public sealed class DurableStoreTests(Backend backend)
{
    private static readonly AssetId Coin = AssetId.Fiat("xts");

    [Test]
    public async Task Reservations_survive_a_restart_and_keep_counting()
    {
        using var stores = Stores.Create(backend);
        var limit = new SpendLimit(Coin, total: 100);
        var held = (await stores.Ledger.TryReserveAsync(LedgerContractTests.Spend(limit, 60), default)).Reservation!;

        using var reopened = stores.Reopen();

        Assert.That((await reopened.Ledger.TryReserveAsync(LedgerContractTests.Spend(limit, 41), default)).Rule, Is.EqualTo("budget.total"));
        await reopened.Ledger.CommitAsync(held, default);
        Assert.That((await reopened.Ledger.GetSummaryAsync("s", Coin, default)).Committed, Is.EqualTo(new BigInteger(60)));
    }

    [Test]
    public async Task The_journal_and_the_receipts_read_back_what_was_written_in_order()
    {
        using var stores = Stores.Create(backend);
        var at = new DateTimeOffset(2026, 11, 20, 12, 0, 0, TimeSpan.Zero);
        var entry = new JournalEntry(Guid.NewGuid(), at, "c", "https://a", "/p", "ch", "tempo", "charge", "fiat:xts", "100", new string('a', 64), JournalState.Pending, null);
        var other = entry with { Id = Guid.NewGuid(), ChallengeId = "ch2", CreatedAt = at.AddSeconds(1) };
        await stores.Journal.RecordAsync(entry, default);
        await stores.Journal.RecordAsync(other, default);
        await stores.Journal.UpdateAsync(entry.Id, JournalState.Settled, "0xabc", default);
        await stores.Journal.UpdateAsync(other.Id, JournalState.Unknown, null, default);
        var receipt = new StoredReceipt(at, "c", "https://a", "/p", "ch", "tempo", "charge", "fiat:xts", "100", "0xabc", "{\"status\":\"success\"}");
        await stores.Receipts.AddAsync(receipt, default);
        await stores.Receipts.AddAsync(receipt with { ChallengeId = "ch2" }, default);

        using var reopened = stores.Reopen();
        var entries = await reopened.Journal.GetAllAsync(default);
        var receipts = await reopened.Receipts.GetAllAsync(default);

        Assert.That(entries.Select(e => (e.Id, e.ChallengeId, e.State, e.Reference, e.CreatedAt)), Is.EqualTo(new[]
        {
            (entry.Id, "ch", JournalState.Settled, (string?)"0xabc", at),
            (other.Id, "ch2", JournalState.Unknown, null, at.AddSeconds(1)),
        }));
        Assert.That(entries[0] with { State = JournalState.Pending, Reference = null }, Is.EqualTo(entry));
        Assert.That(receipts, Is.EqualTo(new[] { receipt, receipt with { ChallengeId = "ch2" } }));
    }
}
