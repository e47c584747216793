using System.Collections.Concurrent;
using System.Globalization;
using System.Numerics;
using Npgsql;

namespace Mpp.Client.Postgres;

/// <summary>
/// The budget ledger in PostgreSQL, one budget for every agent of a fleet. Each reservation is one transaction that first
/// takes a transaction-scoped advisory lock on its scope and asset, then reads what is spent and inserts the reservation:
/// reservations of one budget are serialized across all hosts, so no two can both see room for the same money (no
/// read-then-write race, and no serialization failures to retry). Running totals (per scope, asset and host, and per minute for the windows) are kept by a trigger; amounts are
/// <c>numeric(78,0)</c>.
/// </summary>
public sealed class PostgresSpendLedger : ISpendLedger
{
    private readonly MppPostgresDatabase _database;

    // One reservation per budget at a time from this process: the others wait here, not on pooled connections blocked on the lock.
    private readonly ConcurrentDictionary<(string Scope, string Asset), SemaphoreSlim> _budgets = new();

    /// <summary>Initializes a ledger in <paramref name="database"/>.</summary>
    /// <param name="database">The open database.</param>
    public PostgresSpendLedger(MppPostgresDatabase database)
    {
        ArgumentNullException.ThrowIfNull(database);
        _database = database;
    }

    /// <inheritdoc />
    public async ValueTask<ReservationResult> TryReserveAsync(SpendRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var gate = _budgets.GetOrAdd((request.Scope, request.Amount.Asset.ToString()), _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await _database.TransactAsync(connection => ReserveAsync(connection, request, cancellationToken), "reserving budget", cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            gate.Release();
        }
    }

    /// <inheritdoc />
    public async ValueTask CommitAsync(SpendReservation reservation, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reservation);
        await _database.RunAsync(c => _database.ExecuteAsync(c, "UPDATE {0}.ledger_entries SET state = 1 WHERE id = $1", cancellationToken, reservation.Id), "committing a reservation", cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask CommitPartAsync(SpendReservation reservation, BigInteger spentUnits, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reservation);
        await _database.TransactAsync(
            async connection =>
            {
                BigInteger amount;
                using (var command = _database.Command(connection, "SELECT amount::text, state FROM {0}.ledger_entries WHERE id = $1 FOR UPDATE", reservation.Id))
                using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
                {
                    if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false) || reader.GetInt16(1) == 1)
                    {
                        return false; // released or settled already: nothing to move
                    }

                    amount = BigInteger.Parse(reader.GetString(0), CultureInfo.InvariantCulture);
                }

                var spent = BigInteger.Min(BigInteger.Max(spentUnits, BigInteger.Zero), amount);
                return (spent.IsZero
                    ? await _database.ExecuteAsync(connection, "DELETE FROM {0}.ledger_entries WHERE id = $1", cancellationToken, reservation.Id).ConfigureAwait(false)
                    : await _database.ExecuteAsync(connection, "UPDATE {0}.ledger_entries SET amount = $2::numeric, state = 1 WHERE id = $1", cancellationToken, reservation.Id, Text(spent)).ConfigureAwait(false)) > 0;
            },
            "settling part of a reservation",
            cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask ReleaseAsync(SpendReservation reservation, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reservation);
        await _database.RunAsync(c => _database.ExecuteAsync(c, "DELETE FROM {0}.ledger_entries WHERE id = $1 AND state = 0", cancellationToken, reservation.Id), "releasing a reservation", cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask MarkUnknownAsync(SpendReservation reservation, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reservation);
        await _database.RunAsync(c => _database.ExecuteAsync(c, "UPDATE {0}.ledger_entries SET state = 2 WHERE id = $1", cancellationToken, reservation.Id), "keeping a reservation as unknown", cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public ValueTask<SpendSummary> GetSummaryAsync(string scope, AssetId asset, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(scope);
        return _database.RunAsync(
            async connection =>
            {
                using var command = _database.Command(connection, "SELECT coalesce(sum(reserved), 0)::text, coalesce(sum(committed), 0)::text, coalesce(sum(unknown), 0)::text FROM {0}.ledger_totals WHERE scope = $1 AND asset = $2", scope, asset.ToString());
                using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                return new SpendSummary(Units(reader.GetString(0)), Units(reader.GetString(1)), Units(reader.GetString(2)));
            },
            "reading the budget",
            cancellationToken);
    }

    private async Task<ReservationResult> ReserveAsync(NpgsqlConnection connection, SpendRequest request, CancellationToken cancellationToken)
    {
        var now = _database.Time.GetUtcNow();
        var asset = request.Amount.Asset.ToString();
        await _database.ExecuteAsync(connection, "SELECT pg_advisory_xact_lock(hashtextextended($1 || chr(10) || $2, 0))", cancellationToken, request.Scope, asset).ConfigureAwait(false);

        // Everything the limit checks need, read in one statement once the lock is held: total, per host, and each window
        // (whole minutes from their totals, the entries of the window's first minute one by one: exact).
        var windows = request.Limit.Windows.Select(w => (now - w.Period).ToUnixTimeMilliseconds()).ToList();
        var sql = "SELECT coalesce(sum(reserved + committed + unknown), 0)::text, coalesce(sum(reserved + committed + unknown) FILTER (WHERE host = $3), 0)::text"
            + string.Concat(windows.Select((_, i) => $", ((SELECT coalesce(sum(amount), 0) FROM {{0}}.ledger_minutes WHERE scope = $1 AND asset = $2 AND minute > ${i + 4}::bigint / 60000)"
                + $" + (SELECT coalesce(sum(amount), 0) FROM {{0}}.ledger_entries WHERE scope = $1 AND asset = $2 AND at_ms > ${i + 4} AND at_ms < (${i + 4}::bigint / 60000 + 1) * 60000))::text"))
            + " FROM {0}.ledger_totals WHERE scope = $1 AND asset = $2";
        BigInteger total, host;
        var windowSpent = new Dictionary<long, BigInteger>();
        using (var command = _database.Command(connection, sql, [request.Scope, asset, request.Host, .. windows.Cast<object?>()]))
        using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            total = Units(reader.GetString(0));
            host = Units(reader.GetString(1));
            for (var i = 0; i < windows.Count; i++)
            {
                windowSpent[windows[i]] = Units(reader.GetString(i + 2));
            }
        }

        var refusal = LedgerLimits.Check(request, now, () => total, () => host, since => windowSpent[since.ToUnixTimeMilliseconds()]);
        if (refusal is { } refused)
        {
            return refused;
        }

        var reservation = new SpendReservation(TimeOrderedId.New(now), request.Scope, request.Host, request.Amount, now);
        await _database.ExecuteAsync(
            connection,
            "INSERT INTO {0}.ledger_entries (id, scope, asset, host, amount, at_ms, state, reference, owner) VALUES ($1, $2, $3, $4, $5::numeric, $6, 0, $7, $8)",
            cancellationToken,
            reservation.Id, request.Scope, asset, request.Host, Text(request.Amount.Units), now.ToUnixTimeMilliseconds(), request.Reference, _database.OwnerId).ConfigureAwait(false);
        return ReservationResult.Reserved(reservation);
    }

    private static string Text(BigInteger value) => value.ToString(CultureInfo.InvariantCulture);

    private static BigInteger Units(string text) => BigInteger.Parse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
}
