using System.Numerics;

namespace Mpp.Client;

/// <summary>
/// The budget ledger in an SQLite file, shared safely by the processes of one machine: the limit check and the insert of a
/// reservation happen in one write transaction (<c>BEGIN IMMEDIATE</c>), so no two processes can both see room for the same
/// money. Running totals per scope, asset and host, and per minute, are kept by triggers, so no check scans the history.
/// Amounts are stored as 64-bit integers: a reservation that would not fit is refused (<c>budget.out-of-range</c>).
/// </summary>
public sealed class SqliteSpendLedger : ISpendLedger
{
    private readonly MppSqliteDatabase _database;

    /// <summary>Initializes a ledger in <paramref name="database"/>.</summary>
    /// <param name="database">The open database.</param>
    public SqliteSpendLedger(MppSqliteDatabase database)
    {
        ArgumentNullException.ThrowIfNull(database);
        _database = database;
    }

    /// <inheritdoc />
    public ValueTask<ReservationResult> TryReserveAsync(SpendRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        return _database.WriteAsync(session => Reserve(session, request), "reserving budget", cancellationToken);
    }

    internal MppSqliteDatabase Database => _database;

    /// <inheritdoc />
    public async ValueTask CommitAsync(SpendReservation reservation, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reservation);
        await _database.ChangeAsync(session => Commit(session, reservation), "committing a reservation", cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask CommitPartAsync(SpendReservation reservation, BigInteger spentUnits, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reservation);
        await _database.WriteAsync(
            session =>
            {
                using var reader = session.Command("SELECT amount, state FROM ledger_entries WHERE id = @p0", Id(reservation)).ExecuteReader();
                if (!reader.Read() || reader.GetInt32(1) == 1)
                {
                    return false; // released or settled already: nothing to move
                }

                var amount = reader.GetInt64(0);
                reader.Close();
                var spent = (long)BigInteger.Min(BigInteger.Max(spentUnits, BigInteger.Zero), amount);
                return spent == 0
                    ? session.Execute("DELETE FROM ledger_entries WHERE id = @p0", Id(reservation)) > 0
                    : session.Execute("UPDATE ledger_entries SET amount = @p1, state = 1 WHERE id = @p0", Id(reservation), spent) > 0;
            },
            "settling part of a reservation",
            cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask ReleaseAsync(SpendReservation reservation, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reservation);

        // Only a reservation still in flight goes back; settled or unknown spending stays.
        await _database.ChangeAsync(session => session.Execute("DELETE FROM ledger_entries WHERE id = @p0 AND state = 0", Id(reservation)), "releasing a reservation", cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask MarkUnknownAsync(SpendReservation reservation, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reservation);
        await _database.ChangeAsync(session => MarkUnknown(session, reservation), "keeping a reservation as unknown", cancellationToken).ConfigureAwait(false);
    }

    internal static int Commit(SqliteSession session, SpendReservation reservation)
        => session.Execute("UPDATE ledger_entries SET state = 1 WHERE id = @p0", Id(reservation));

    internal static int MarkUnknown(SqliteSession session, SpendReservation reservation)
        => session.Execute("UPDATE ledger_entries SET state = 2 WHERE id = @p0", Id(reservation));

    /// <inheritdoc />
    public ValueTask<SpendSummary> GetSummaryAsync(string scope, AssetId asset, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(scope);
        return ValueTask.FromResult(_database.Read(
            session =>
            {
                using var reader = session.Command("SELECT coalesce(sum(reserved), 0), coalesce(sum(committed), 0), coalesce(sum(unknown), 0) FROM ledger_totals WHERE scope = @p0 AND asset = @p1", scope, asset.ToString()).ExecuteReader();
                reader.Read();
                return new SpendSummary(reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2));
            },
            "reading the budget"));
    }

    /// <summary>Spent after an instant: whole minutes from their totals, the entries of the minute the window starts in one by one (exact).</summary>
    internal const string WindowSql = """
        SELECT coalesce((SELECT sum(amount) FROM ledger_minutes WHERE scope = @p0 AND asset = @p1 AND minute > @p2 / 60000), 0)
             + coalesce((SELECT sum(amount) FROM ledger_entries WHERE scope = @p0 AND asset = @p1 AND at_ms > @p2 AND at_ms < (@p2 / 60000 + 1) * 60000), 0)
        """;

    internal static long ToStored(BigInteger units) => (long)units;

    internal static int StateCode(LedgerEntryState state) => state switch
    {
        LedgerEntryState.Reserved => 0,
        LedgerEntryState.Committed => 1,
        LedgerEntryState.Unknown => 2,
        _ => throw new ArgumentOutOfRangeException(nameof(state)),
    };

    private ReservationResult Reserve(SqliteSession session, SpendRequest request)
    {
        var now = _database.Time.GetUtcNow();
        var asset = request.Amount.Asset.ToString();
        var amount = request.Amount.Units;
        long total = 0, host = 0;
        using (var reader = session.Command(
            "SELECT coalesce(sum(reserved + committed + unknown), 0), coalesce(sum(CASE WHEN host = @p2 THEN reserved + committed + unknown ELSE 0 END), 0) FROM ledger_totals WHERE scope = @p0 AND asset = @p1",
            request.Scope, asset, request.Host).ExecuteReader())
        {
            reader.Read();
            total = reader.GetInt64(0);
            host = reader.GetInt64(1);
        }

        var refusal = LedgerLimits.Check(
            request,
            now,
            () => total,
            () => host,
            since => session.Scalar(WindowSql, request.Scope, asset, since.ToUnixTimeMilliseconds()));
        if (refusal is { } refused)
        {
            return refused;
        }

        if (amount.Sign < 0 || total + amount > long.MaxValue)
        {
            return ReservationResult.Refused("budget.out-of-range", $"{amount} units of {asset} (with {total} already spent or held) do not fit the SQLite ledger's 64-bit amounts.");
        }

        var reservation = new SpendReservation(TimeOrderedId.New(now), request.Scope, request.Host, request.Amount, now);
        session.Execute(
            "INSERT INTO ledger_entries (id, scope, asset, host, amount, at_ms, state, reference, owner) VALUES (@p0, @p1, @p2, @p3, @p4, @p5, 0, @p6, @p7)",
            Id(reservation), request.Scope, asset, request.Host, (long)amount, now.ToUnixTimeMilliseconds(), request.Reference, _database.OwnerId);
        return ReservationResult.Reserved(reservation);
    }

    private static string Id(SpendReservation reservation) => reservation.Id.ToString("D");
}
