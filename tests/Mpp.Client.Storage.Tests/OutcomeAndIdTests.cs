using System.Numerics;

namespace Mpp.Client.Storage.Tests;

/// <summary>A payment's outcome written to one SQLite file in one transaction, and the time-ordered ids its stores are keyed by.</summary>
public sealed class OutcomeAndIdTests
{
    private static readonly AssetId Coin = AssetId.Fiat("xts");

    [Test]
    public async Task The_outcome_is_written_whole_or_not_at_all()
    {
        using var database = MppSqliteDatabase.Open(new SqliteStoreOptions { Path = Stores.NewSqlitePath() });
        var ledger = new SqliteSpendLedger(database);
        var journal = new SqlitePaymentJournal(database);
        var receipts = new SqliteReceiptStore(database);
        IOutcomeBatch batch = journal;
        Assert.That(batch.CanBatch(ledger, receipts), Is.True);
        Assert.That(batch.CanBatch(new InMemorySpendLedger(TimeProvider.System), receipts), Is.False, "a ledger elsewhere is written on its own");
        using (var other = MppSqliteDatabase.Open(new SqliteStoreOptions { Path = Stores.NewSqlitePath() }))
        {
            Assert.That(batch.CanBatch(ledger, new SqliteReceiptStore(other)), Is.False, "another file is another transaction");
        }

        var limit = new SpendLimit(Coin, total: 100);
        var first = (await ledger.TryReserveAsync(LedgerContractTests.Spend(limit, 10), default)).Reservation!;
        var firstEntry = Records.Pending();
        await journal.RecordAsync(firstEntry, default);
        await batch.RecordOutcomeAsync(new OutcomeRecord(first, Settled: true, firstEntry.Id, JournalState.Settled, "0xref", Records.Receipt("0xref")), default);

        // The receipt cannot be stored (a NOT NULL column): the ledger's commit and the journal's outcome go back with it.
        var second = (await ledger.TryReserveAsync(LedgerContractTests.Spend(limit, 20), default)).Reservation!;
        var secondEntry = Records.Pending();
        await journal.RecordAsync(secondEntry, default);
        Assert.ThrowsAsync<PaymentStoreException>(async () => await batch.RecordOutcomeAsync(new OutcomeRecord(second, Settled: true, secondEntry.Id, JournalState.Settled, "0xbad", Records.Receipt(null!)), default));

        var summary = await ledger.GetSummaryAsync("s", Coin, default);
        Assert.That((summary.Committed, summary.Reserved), Is.EqualTo((new BigInteger(10), new BigInteger(20))));
        var entries = await journal.GetAllAsync(default);
        Assert.That(entries.Select(e => (e.Id, e.State, e.Reference)), Is.EqualTo(new[] { (firstEntry.Id, JournalState.Settled, (string?)"0xref"), (secondEntry.Id, JournalState.Pending, null) }));
        Assert.That((await receipts.GetAllAsync(default)).Select(r => r.Reference), Is.EqualTo(new[] { "0xref" }));
    }

    [Test]
    public void Ids_are_version_7_and_sort_by_time_as_text()
    {
        var start = new DateTimeOffset(2026, 12, 6, 0, 0, 0, TimeSpan.Zero);
        var ids = Enumerable.Range(0, 1000).Select(i => TimeOrderedId.New(start.AddMilliseconds(i * 7))).ToList();
        Assert.That(ids.Select(id => id.ToString("D")), Is.Ordered.Using((IComparer<string>)StringComparer.Ordinal));
        Assert.That(ids.Distinct().Count(), Is.EqualTo(ids.Count));

        // The form built by hand on .NET 8: the runtime's version 7 layout, with the random bytes where RFC 9562 puts them.
        var random = Enumerable.Range(1, 10).Select(i => (byte)(i * 37)).ToArray();
        var built = TimeOrderedId.FromParts(start.ToUnixTimeMilliseconds(), random);
        Assert.That(built.ToString("D")[..13], Is.EqualTo(Guid.CreateVersion7(start).ToString("D")[..13]), "the 48-bit millisecond time");
        Assert.That(built.Version, Is.EqualTo(7));
        var bytes = new byte[16];
        Assert.That(built.TryWriteBytes(bytes, bigEndian: true, out _), Is.True);
        Assert.That(bytes[6..], Is.EqualTo(new[] { (byte)(0x70 | (random[0] & 0x0F)), random[1], (byte)(0x80 | (random[2] & 0x3F)) }.Concat(random[3..])));
    }
}
