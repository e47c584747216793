using System.Diagnostics;
using System.Numerics;
using System.Text;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Mpp.Client.Tempo;

namespace Mpp.Client.Storage.Tests;

/// <summary>The SQLite file itself: foreign, damaged and newer files are refused with an explanation; the schema is created once; old file stores are imported once.</summary>
public sealed class SqliteFileTests
{
    private static readonly AssetId Coin = AssetId.Fiat("xts");

    [Test]
    public void A_file_that_is_not_SQLite_is_refused_and_left_untouched()
    {
        var path = Stores.NewSqlitePath();
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, "these are my notes, not a database\n" + new string('x', 5000));
        var before = File.ReadAllBytes(path);

        var ex = Assert.Throws<PaymentStoreException>(() => MppSqliteDatabase.Open(new SqliteStoreOptions { Path = path }));

        Assert.That(ex!.Message, Does.Contain("is not an SQLite database"));
        Assert.That(File.ReadAllBytes(path), Is.EqualTo(before));
    }

    [Test]
    public void An_SQLite_file_of_another_program_is_refused_and_left_untouched()
    {
        var path = Stores.NewSqlitePath();
        _ = MppSqliteDatabase.Open(new SqliteStoreOptions { Path = Stores.NewSqlitePath() }); // loads the native library
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using (var connection = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO customers (name) VALUES ('Ada');";
            command.ExecuteNonQuery();
        }

        var ex = Assert.Throws<PaymentStoreException>(() => MppSqliteDatabase.Open(new SqliteStoreOptions { Path = path }));

        Assert.That(ex!.Message, Does.Contain("not MppClient's").And.Contain("customers"));
        using var check = new SqliteConnection($"Data Source={path};Pooling=False");
        check.Open();
        using var tables = check.CreateCommand();
        tables.CommandText = "SELECT group_concat(name) FROM sqlite_master WHERE type = 'table'";
        Assert.That(tables.ExecuteScalar(), Is.EqualTo("customers"), "nothing was added to it");
    }

    [Test]
    public async Task A_damaged_file_is_refused_at_start_up_with_the_reason()
    {
        var path = Stores.NewSqlitePath();
        using (var database = MppSqliteDatabase.Open(new SqliteStoreOptions { Path = path }))
        {
            var receipts = new SqliteReceiptStore(database);
            for (var i = 0; i < 300; i++)
            {
                await receipts.AddAsync(new StoredReceipt(DateTimeOffset.UnixEpoch, "c", "https://a", "/p", "ch" + i, "tempo", "charge", "fiat:xts", "1", "ref", new string('r', 200)), default);
            }
        }

        // Scribble over the middle of the file (the last connection's close checkpointed the WAL into it).
        using (var file = new FileStream(path, FileMode.Open, FileAccess.ReadWrite))
        {
            Assert.That(file.Length, Is.GreaterThan(8 * 4096));
            file.Position = 3 * 4096;
            file.Write(Encoding.ASCII.GetBytes(new string('#', 3 * 4096)));
        }

        var services = new ServiceCollection();
        services.AddMpp().UseSqlite(path);
        using var provider = services.BuildServiceProvider();

        var atStartUp = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());
        Assert.That(atStartUp!.Message, Does.Contain("damaged"));
        var direct = Assert.Throws<PaymentStoreException>(() => MppSqliteDatabase.Open(new SqliteStoreOptions { Path = path }));
        Assert.That(direct!.Message, Does.Contain(path).And.Contain("damaged"));
    }

    [Test]
    public void A_file_from_a_newer_version_is_refused_and_a_file_missing_a_table_is_damaged()
    {
        var newer = Stores.NewSqlitePath();
        MppSqliteDatabase.Open(new SqliteStoreOptions { Path = newer }).Dispose();
        Sql(newer, "UPDATE mpp_schema SET version = 99");
        var missing = Stores.NewSqlitePath();
        MppSqliteDatabase.Open(new SqliteStoreOptions { Path = missing }).Dispose();
        Sql(missing, "DROP TABLE receipts");

        Assert.That(Assert.Throws<PaymentStoreException>(() => MppSqliteDatabase.Open(new SqliteStoreOptions { Path = newer }))!.Message, Does.Contain("newer MppClient"));
        Assert.That(Assert.Throws<PaymentStoreException>(() => MppSqliteDatabase.Open(new SqliteStoreOptions { Path = missing }))!.Message, Does.Contain("no table 'receipts'"));
    }

    [Test]
    public async Task Opening_again_and_concurrently_keeps_the_schema_and_the_data()
    {
        var path = Stores.NewSqlitePath();
        var opened = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => Task.Run(() => MppSqliteDatabase.Open(new SqliteStoreOptions { Path = path }))));
        var ledger = new SqliteSpendLedger(opened[0]);
        await ledger.CommitAsync((await ledger.TryReserveAsync(LedgerContractTests.Spend(new SpendLimit(Coin, total: 10), 7), default)).Reservation!, default);
        foreach (var database in opened)
        {
            Assert.That(database.SchemaVersion, Is.EqualTo(1));
            database.Dispose();
        }

        using var again = MppSqliteDatabase.Open(new SqliteStoreOptions { Path = path });
        Assert.That((await new SqliteSpendLedger(again).GetSummaryAsync("s", Coin, default)).Committed, Is.EqualTo(new BigInteger(7)));
    }

    [Test]
    public async Task Steady_writing_keeps_the_WAL_bounded()
    {
        // SQLite starts the WAL over only at a write that finds all of it copied into the file, which back-to-back writes never
        // left room for: the WAL grew by every page of every write (gigabytes within a minute of paid calls). These 60,000
        // writes of 2–3 pages each would make about 550 MB of it; checkpoints keep it under 10,000 writes' worth.
        var path = Stores.NewSqlitePath();
        using var database = MppSqliteDatabase.Open(new SqliteStoreOptions { Path = path });
        var ledger = new SqliteSpendLedger(database);
        var journal = new SqlitePaymentJournal(database);
        var limit = new SpendLimit(Coin, total: long.MaxValue / 2);
        long largest = 0;
        for (var i = 0; i < 20_000; i++)
        {
            var reservation = (await ledger.TryReserveAsync(LedgerContractTests.Spend(limit, 1), default)).Reservation!;
            await journal.RecordAsync(Records.Pending("ch-" + i, amount: "1"), default);
            await ledger.CommitAsync(reservation, default);
            if (i % 500 == 0)
            {
                largest = Math.Max(largest, new FileInfo(path + "-wal").Length);
            }
        }

        largest = Math.Max(largest, new FileInfo(path + "-wal").Length);
        Assert.That(largest, Is.LessThan(256L << 20), $"the WAL reached {largest >> 20} MB");
        Assert.That((await ledger.GetSummaryAsync("s", Coin, default)).Committed, Is.EqualTo(new BigInteger(20_000)));
    }

    [Test]
    public async Task A_reader_that_stays_does_not_hold_writers_for_the_busy_timeout()
    {
        // Starting the WAL over waits for every reader; another program's reader (an open sqlite3 shell) may never finish.
        // The restart gives up after 100 ms and the writes go on; before, this process's writers waited the busy timeout.
        var path = Stores.NewSqlitePath();
        using var database = MppSqliteDatabase.Open(new SqliteStoreOptions { Path = path, BusyTimeout = TimeSpan.FromSeconds(30) });
        var receipts = new SqliteReceiptStore(database);
        await receipts.AddAsync(Records.Receipt("0xref0", "ch-0", amount: "1"), default);
        using var reader = new SqliteConnection($"Data Source={path};Pooling=False");
        reader.Open();
        using var snapshot = reader.BeginTransaction(deferred: true);
        using (var read = reader.CreateCommand())
        {
            read.Transaction = snapshot;
            read.CommandText = "SELECT count(*) FROM receipts";
            Assert.That(read.ExecuteScalar(), Is.EqualTo(1L));
        }

        var clock = Stopwatch.StartNew();
        for (var i = 1; i <= 21_000; i++)
        {
            await receipts.AddAsync(Records.Receipt("0xref" + i, "ch-" + i, amount: "1"), default); // past 10,000 writes a writer restarts the WAL itself (and retries every 2,000)
        }

        Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(25)), "no write waited out the 30 s busy timeout");
        Assert.That((await receipts.GetAllAsync(default)).Count, Is.EqualTo(21_001));
    }

    [Test]
    public async Task Reservations_of_a_process_that_died_become_unknown_but_a_channels_deposit_stays_held()
    {
        var path = Stores.NewSqlitePath();
        var limit = new SpendLimit(Coin, total: 1000);
        Guid inFlight, deposit;
        using (var database = MppSqliteDatabase.Open(new SqliteStoreOptions { Path = path }))
        {
            var ledger = new SqliteSpendLedger(database);
            inFlight = (await ledger.TryReserveAsync(LedgerContractTests.Spend(limit, 10), default)).Reservation!.Id;
            var held = (await ledger.TryReserveAsync(LedgerContractTests.Spend(limit, 500), default)).Reservation!;
            deposit = held.Id;
            using var channels = new SqliteChannelStore(database);
            await channels.SaveAsync(ChannelStoreContractTests.Channel("0x" + new string('c', 64), 1000) with { Reservations = [ChannelReservation.From(held)] }, default);
        }

        // Both reservations now belong to a process of this machine that is gone.
        using var exited = Process.Start(new ProcessStartInfo("dotnet", "--version") { RedirectStandardOutput = true })!;
        await exited.WaitForExitAsync();
        Sql(path, $"UPDATE ledger_entries SET owner = '{Environment.MachineName}/{exited.Id}/1/dead'");

        using var reopened = MppSqliteDatabase.Open(new SqliteStoreOptions { Path = path });

        var summary = await new SqliteSpendLedger(reopened).GetSummaryAsync("s", Coin, default);
        Assert.That((summary.Unknown, summary.Reserved), Is.EqualTo((new BigInteger(10), new BigInteger(500))), "the call in flight may have been paid: unknown; the deposit is the channel's");
        Assert.That(inFlight, Is.Not.EqualTo(deposit));
    }

    [Test]
    public async Task The_file_stores_of_earlier_versions_are_imported_once()
    {
        var home = Path.Combine(Path.GetTempPath(), "mpp-home-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path.Combine(home, "channels"));
        var pending = Guid.NewGuid();
        var settled = Guid.NewGuid();
        // What FileSpendLedger, JsonLinesPaymentJournal, JsonLinesReceiptStore and FileChannelStore wrote.
        File.WriteAllText(Path.Combine(home, "ledger.json"), $$"""
            {"version":1,"entries":[
              {"id":"{{Guid.NewGuid()}}","scope":"mpp-cli","asset":"fiat:xts","host":"a.example","amount":"300","at":1763600000000,"state":"Committed"},
              {"id":"{{Guid.NewGuid()}}","scope":"mpp-cli","asset":"fiat:xts","host":"a.example","amount":"40","at":1763600000001,"state":"Unknown"},
              {"id":"{{Guid.NewGuid()}}","scope":"mpp-cli","asset":"fiat:xts","host":"b.example","amount":"500","at":1763600000002,"state":"Reserved"}],
             "folded":[{"scope":"mpp-cli","asset":"fiat:xts","host":"old.example","amount":"1000"}]}
            """);
        File.WriteAllText(Path.Combine(home, "journal.jsonl"), string.Join('\n',
            $$"""{"Id":"{{pending}}","CreatedAt":"2026-11-20T10:00:00+00:00","ClientName":"mpp","Origin":"https://a.example","Path":"/p","ChallengeId":"ch1","Method":"tempo","Intent":"charge","Asset":"fiat:xts","Amount":"40","CredentialDigest":"{{new string('a', 64)}}","State":"Pending","Reference":null}""",
            $$"""{"Id":"{{settled}}","CreatedAt":"2026-11-20T10:01:00+00:00","ClientName":"mpp","Origin":"https://a.example","Path":"/p","ChallengeId":"ch2","Method":"tempo","Intent":"charge","Asset":"fiat:xts","Amount":"300","CredentialDigest":"{{new string('b', 64)}}","State":"Pending","Reference":null}""",
            $$"""{"Id":"{{settled}}","State":"Settled","Reference":"0xfeed","UpdatedAt":"2026-11-20T10:01:01+00:00"}""",
            """{"Id":"torn""") + "\n");
        File.WriteAllText(Path.Combine(home, "receipts.jsonl"), $$"""{"RecordedAt":"2026-11-20T10:01:01+00:00","ClientName":"mpp","Origin":"https://a.example","Path":"/p","ChallengeId":"ch2","Method":"tempo","Intent":"charge","Asset":"fiat:xts","Amount":"300","Reference":"0xfeed","ReceiptJson":"{\"status\":\"success\"}"}""" + "\n");
        var channel = ChannelStoreContractTests.Channel("0x" + new string('d', 64), 7000);
        File.WriteAllBytes(Path.Combine(home, "channels", channel.ChannelId + ".channel.json"), [.. channel.ToJsonUtf8(), .. Encoding.ASCII.GetBytes(new string(' ', 40))]);

        for (var open = 0; open < 2; open++)
        {
            using var database = MppSqliteDatabase.Open(new SqliteStoreOptions { Path = Path.Combine(home, "mpp.db"), ImportFrom = home });
            using var channels = new SqliteChannelStore(database);

            var summary = await new SqliteSpendLedger(database).GetSummaryAsync("mpp-cli", Coin, default);
            Assert.That((summary.Committed, summary.Unknown, summary.Reserved), Is.EqualTo((new BigInteger(1300), new BigInteger(40), new BigInteger(500))), $"open {open}");
            var journal = await new SqlitePaymentJournal(database).GetAllAsync(default);
            Assert.That(journal.Select(e => (e.Id, e.State, e.Reference)), Is.EqualTo(new[] { (pending, JournalState.Pending, (string?)null), (settled, JournalState.Settled, "0xfeed") }));
            Assert.That((await new SqliteReceiptStore(database).GetAllAsync(default)).Select(r => r.Reference), Is.EqualTo(new[] { "0xfeed" }));
            var imported = (await channels.LoadAsync(default)).Single();
            Assert.That((imported.ChannelId, imported.HighestSigned), Is.EqualTo((channel.ChannelId, new BigInteger(7000))));
        }

        Assert.That(File.Exists(Path.Combine(home, "ledger.json")), Is.True, "the old files are left where they were");
    }

    private static void Sql(string path, string sql)
    {
        using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
