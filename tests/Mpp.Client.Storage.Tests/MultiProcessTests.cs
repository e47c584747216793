using System.Globalization;
using System.Numerics;
using System.Security.Cryptography;
using Microsoft.Data.Sqlite;
using Mpp.Client.Tempo;
using Mpp.Client.Testing;
using Npgsql;

namespace Mpp.Client.Storage.Tests;

/// <summary>
/// Real OS processes paying the kit over loopback with one shared store: a budget that no concurrency can overrun, a channel
/// shared under a lease and taken over after its holder is killed, and crash safety under kill -9 at random points.
/// </summary>
public sealed class MultiProcessTests
{
    private const decimal Price = 0.001m; // 1000 units

    // Reservations still "reserved" that no channel holds (Reserved is left only for the deposits a channel holds).
    private const string LeftReservedSql = "SELECT count(*) FROM ledger_entries WHERE state = 0 AND id NOT IN (SELECT json_extract(r.value, '$.id') FROM channels, json_each(channels.record, '$.reservations') AS r)";

    [TestCase(Backend.Sqlite)]
    [TestCase(Backend.Postgres, Category = "Postgres")]
    public async Task Four_processes_of_250_concurrent_paid_calls_spend_exactly_a_budget_of_500_calls(Backend backend)
    {
        await using var server = await MppTestServer.StartAsync(o => o.Routes["/charge"] = TestRoute.Charge(Price));
        var location = backend == Backend.Sqlite ? Stores.NewSqlitePath() : PostgresServer.NewSchema();
        var store = backend == Backend.Sqlite ? Probe.SqliteStore(location) : Probe.PostgresStore(location);
        var start = Path.Combine(Path.GetTempPath(), "mpp-start-" + Guid.NewGuid().ToString("N"));
        var probes = Enumerable.Range(0, 4).Select(_ => Probe.Start(server, server.CreateFundedAccount(1m), store, "charge", "250", "500000", start)).ToList();
        try
        {
            foreach (var probe in probes)
            {
                await probe.WaitForAsync(l => l == "READY", TimeSpan.FromMinutes(1));
            }

            await File.WriteAllTextAsync(start, "go"); // all four spend at once
            var results = new List<(int Paid, int Refused, int Other)>();
            foreach (var probe in probes)
            {
                await probe.ExitAsync(TimeSpan.FromMinutes(4));
                var result = await probe.WaitForAsync(l => l.StartsWith("RESULT", StringComparison.Ordinal), TimeSpan.FromSeconds(1));
                var counts = result.Split(' ').Skip(1).Select(p => int.Parse(p[(p.IndexOf('=', StringComparison.Ordinal) + 1)..], CultureInfo.InvariantCulture)).ToArray();
                results.Add((counts[0], counts[1], counts[2]));
            }

            Assert.That(results.Sum(r => r.Paid), Is.EqualTo(500), string.Join("; ", results));
            Assert.That(results.Sum(r => r.Refused), Is.EqualTo(500), "every other call is refused by the budget, before anything is signed");
            Assert.That(results.Sum(r => r.Other), Is.Zero);
            Assert.That(results.Count(r => r.Paid > 0), Is.GreaterThanOrEqualTo(2), "the processes really contended for the budget (which of them wins it is up to the lock)");

            var payments = server.Ledger.Payments;
            Assert.That((payments.Count, payments.Aggregate(BigInteger.Zero, (sum, p) => sum + p.Amount)), Is.EqualTo((500, new BigInteger(500_000))), "the server was paid exactly the budget: overspend 0");
            using var view = OpenView(backend, location);
            var summary = await view.Ledger.GetSummaryAsync("fleet", TempoAssets.PathUsdOn(server.ChainId).Id, default);
            Assert.That((summary.Committed, summary.Reserved, summary.Unknown), Is.EqualTo((new BigInteger(500_000), BigInteger.Zero, BigInteger.Zero)));
            var receipts = await view.Receipts.GetAllAsync(default);
            Assert.That(receipts.Select(r => r.Reference).Order(StringComparer.Ordinal), Is.EqualTo(payments.Select(p => p.TransactionHash).Order(StringComparer.Ordinal)), "the stored receipts are the server's payments, one each");
            Assert.That(receipts.Sum(r => long.Parse(r.Amount, CultureInfo.InvariantCulture)), Is.EqualTo(500_000));
        }
        finally
        {
            probes.ForEach(p => p.Dispose());
        }
    }

    [Test]
    [Category("Postgres")]
    public async Task Two_processes_share_one_channel_through_PostgreSQL_and_the_survivor_takes_it_over_after_kill_9()
    {
        // Each paid call takes 150 ms on the server, so the lease is held long enough to kill its holder mid-call.
        await using var server = await MppTestServer.StartAsync(o => o.Routes["/session"] = TestRoute.Session(Price, suggestedDeposit: 0.5m).WithHostile(HostileBehavior.SlowResponse(TimeSpan.FromMilliseconds(150))));
        var schema = PostgresServer.NewSchema();
        var store = Probe.PostgresStore(schema);
        var wallet = server.CreateFundedAccount(2m); // one wallet for the fleet
        using var first = Probe.Start(server, wallet, store, "session", "400", "shared", "1500");
        await first.WaitForAsync(l => l.StartsWith("PAID 200", StringComparison.Ordinal), TimeSpan.FromMinutes(1)); // the channel is open
        using var second = Probe.Start(server, wallet, store, "session", "40", "shared", "1500");
        await second.WaitForAsync(l => l.StartsWith("PAID 200", StringComparison.Ordinal), TimeSpan.FromMinutes(1));
        await WaitUntilAsync(() => Paid(second).Count >= 5 && Paid(first).Count >= 8, TimeSpan.FromMinutes(1), () => first.Transcript + second.Transcript);

        // Kill the first process while it holds the lease (a voucher of its is in flight), reading the stored high-water mark in
        // the same statement that shows who holds the lease.
        using var database = NpgsqlDataSource.Create(PostgresServer.ConnectionString);
        BigInteger highWaterAtKill = -1;
        await WaitUntilAsync(
            async () =>
            {
                await using var command = database.CreateCommand($"SELECT highest_signed::text FROM {schema}.channels WHERE lease_owner LIKE '%/{first.Id}/%'");
                if (await command.ExecuteScalarAsync() is not string held)
                {
                    return false;
                }

                first.KillHard();
                highWaterAtKill = BigInteger.Parse(held, CultureInfo.InvariantCulture);
                return true;
            },
            TimeSpan.FromSeconds(30),
            () => first.Transcript);

        await second.ExitAsync(TimeSpan.FromMinutes(2));
        var fromFirst = Paid(first);
        var fromSecond = Paid(second);

        Assert.That(second.Lines, Has.Some.EqualTo("REJECTED 0"), second.Transcript);
        Assert.That(second.Lines.Where(l => l.StartsWith("PAID", StringComparison.Ordinal)), Has.All.StartsWith("PAID 200"), "no voucher of the survivor was refused");
        Assert.That(first.Lines.Where(l => l.StartsWith("PAID", StringComparison.Ordinal)), Has.All.StartsWith("PAID 200"), "nor of the killed process while it ran");
        Assert.That(fromFirst.Concat(fromSecond).Select(p => p.Channel).Distinct().Count(), Is.EqualTo(1), "one channel for both processes");
        var all = fromFirst.Concat(fromSecond).Select(p => p.Cumulative).ToList();
        Assert.That(all.Distinct().Count(), Is.EqualTo(all.Count), "every accepted voucher has its own cumulative amount: they strictly increase across the two processes");
        Assert.That(fromFirst.Select(p => p.Cumulative), Has.All.LessThanOrEqualTo(highWaterAtKill), "the killed holder never got past what it had stored");
        Assert.That(fromSecond.Count(p => p.Cumulative > highWaterAtKill), Is.GreaterThanOrEqualTo(10), "the survivor took the channel over above the killed holder's stored high-water mark and went on");
        var channel = server.Ledger.Channels.Single();
        Assert.That(channel.AcceptedCumulative, Is.EqualTo(all.Max()));
    }

    [Test]
    public async Task A_paying_process_killed_at_random_points_loses_nothing_and_its_channel_never_signs_lower()
    {
        const int Trials = 24;
        await using var server = await MppTestServer.StartAsync(o =>
        {
            o.Routes["/charge"] = TestRoute.Charge(Price);
            o.Routes["/session"] = TestRoute.Session(Price, suggestedDeposit: 0.5m);
        });
        var path = Stores.NewSqlitePath();
        var wallet = server.CreateFundedAccount(20m);
        BigInteger highestSeen = 0;
        var sessionVouchers = 0;
        for (var trial = 0; trial < Trials; trial++)
        {
            using (var probe = Probe.Start(server, wallet, Probe.SqliteStore(path), "crash"))
            {
                // Anywhere from start-up (opening, migrating, recovering) to the middle of paying.
                await Task.Delay(RandomNumberGenerator.GetInt32(150, 1800));
                probe.KillHard();
                var paid = Paid(probe);
                Assert.That(probe.Lines.Where(l => l.StartsWith("PAID", StringComparison.Ordinal)), Has.All.StartsWith("PAID 200"), $"trial {trial}: a session voucher was refused:\n{probe.Transcript}");
                Assert.That(paid.Select(p => p.Cumulative), Has.All.GreaterThan(highestSeen), $"trial {trial}: a voucher at or below one sent before the restart");
                highestSeen = paid.Select(p => p.Cumulative).DefaultIfEmpty(highestSeen).Max();
                sessionVouchers += paid.Count;
            }

            // What the killed process left: opening the file (as the next start does) turns its in-flight reservations into "unknown".
            using var view = OpenView(Backend.Sqlite, path);
            await AssertNothingLostAsync(server, path, $"trial {trial}");
        }

        Assert.That(sessionVouchers, Is.GreaterThan(Trials), "the trials paid on the channel");
        Assert.That(server.Ledger.Payments, Is.Not.Empty, "the trials paid charges");

        // The row of docs/reliability.md's fault table: what left the wallet on the kit's chain (gas is free there) against
        // what the ledger counts (committed, unknown, and the reservations a channel's deposit holds).
        BigInteger counted;
        int lostReservations;
        using (var connection = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT coalesce(sum(amount), 0) FROM ledger_entries"; // a released reservation is deleted: every row counts
            counted = Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);

            command.CommandText = LeftReservedSql;
            lostReservations = Convert.ToInt32(command.ExecuteScalar(), CultureInfo.InvariantCulture);
        }

        var spent = new BigInteger(20_000_000) - server.Ledger.BalanceOf(wallet.Address);
        var overspend = BigInteger.Max(BigInteger.Zero, spent - counted);
        var charges = server.Ledger.Payments.Count;
        Assert.That(overspend, Is.EqualTo(BigInteger.Zero), $"the wallet paid {spent}, the ledger counts {counted}");
        TestContext.Progress.WriteLine(
            $"chaos | kill -9 of a paying process at a random point, SQLite store (charges, then session vouchers on one channel) | {Trials} | " +
            $"{charges} charges + {sessionVouchers} vouchers | {charges} + {sessionVouchers} | 0 | {overspend} | {lostReservations} |");
    }

    private static async Task AssertNothingLostAsync(MppTestServer server, string path, string trial)
    {
        using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        connection.Open();
        var entries = new Dictionary<string, (int State, long Amount)>();
        using (var command = connection.CreateCommand())
        {
            command.CommandText = "SELECT reference, state, amount FROM ledger_entries";
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                entries[reader.GetString(0)] = (reader.GetInt32(1), reader.GetInt64(2));
            }
        }

        // Every charge the server took is in the ledger, settled or unknown: never dropped, never still "in flight".
        foreach (var payment in server.Ledger.Payments)
        {
            Assert.That(entries.TryGetValue(payment.ChallengeId, out var entry), Is.True, $"{trial}: the server took {payment.ChallengeId} but the ledger has no entry");
            Assert.That(entry.State, Is.AnyOf(1, 2), $"{trial}: the server took {payment.ChallengeId}; the ledger must count it as settled or unknown");
        }

        using (var command = connection.CreateCommand())
        {
            // Reserved is left only for the deposits a channel holds.
            command.CommandText = LeftReservedSql;
            Assert.That(command.ExecuteScalar(), Is.EqualTo(0L), $"{trial}: a reservation of the killed process is still 'in flight'");
        }

        // Every voucher the server accepted was stored first.
        foreach (var channel in server.Ledger.Channels)
        {
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT highest_signed FROM channels WHERE channel_id = $id";
            command.Parameters.AddWithValue("$id", channel.ChannelId);
            var stored = BigInteger.Parse((string)command.ExecuteScalar()!, CultureInfo.InvariantCulture);
            Assert.That(stored, Is.GreaterThanOrEqualTo(channel.AcceptedCumulative), $"{trial}: the server accepted a voucher above the stored high-water mark");
        }
    }

    private static List<(string Channel, BigInteger Cumulative)> Paid(Probe probe)
        => [.. probe.Lines.Where(l => l.StartsWith("PAID 200", StringComparison.Ordinal)).Select(l => l.Split(' ')).Select(p => (p[2], BigInteger.Parse(p[3], CultureInfo.InvariantCulture)))];

    private static Stores OpenView(Backend backend, string location) => Stores.At(backend, location);

    private static async Task<BigInteger> ScalarAsync(NpgsqlDataSource database, string sql)
    {
        await using var command = database.CreateCommand(sql);
        return BigInteger.Parse((await command.ExecuteScalarAsync())!.ToString()!, CultureInfo.InvariantCulture);
    }

    private static Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout, Func<string> explain) => WaitUntilAsync(() => Task.FromResult(condition()), timeout, explain);

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout, Func<string> explain)
    {
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (!await condition())
        {
            if (waited.Elapsed > timeout)
            {
                Assert.Fail("Timed out waiting:\n" + explain());
            }

            await Task.Delay(10);
        }
    }
}
