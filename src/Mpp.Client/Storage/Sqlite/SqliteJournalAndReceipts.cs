using System.Globalization;

namespace Mpp.Client;

/// <summary>
/// The payment journal in an SQLite file: each entry is written before its credential leaves and updated with the outcome.
/// When the ledger and the receipts are in the same file, the outcome's three writes are one transaction.
/// </summary>
public sealed class SqlitePaymentJournal : IPaymentJournal, IOutcomeBatch
{
    private const string Columns = "id, created_at, client_name, origin, path, challenge_id, method, intent, asset, amount, credential_digest, state, reference";
    private readonly MppSqliteDatabase _database;

    /// <summary>Initializes a journal in <paramref name="database"/>.</summary>
    /// <param name="database">The open database.</param>
    public SqlitePaymentJournal(MppSqliteDatabase database)
    {
        ArgumentNullException.ThrowIfNull(database);
        _database = database;
    }

    /// <inheritdoc />
    public async ValueTask RecordAsync(JournalEntry entry, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        await _database.ChangeAsync(session => Insert(session, entry), "writing the journal", cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask UpdateAsync(Guid id, JournalState state, string? reference, CancellationToken cancellationToken)
    {
        await _database.ChangeAsync(session => Update(session, id, state, reference), "updating the journal", cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    bool IOutcomeBatch.CanBatch(ISpendLedger? ledger, IReceiptStore? receipts)
        => (ledger is null || (ledger is SqliteSpendLedger sqliteLedger && sqliteLedger.Database == _database))
            && (receipts is null || (receipts is SqliteReceiptStore sqliteReceipts && sqliteReceipts.Database == _database));

    /// <inheritdoc />
    async ValueTask IOutcomeBatch.RecordOutcomeAsync(OutcomeRecord outcome, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        await _database.WriteAsync(
            session =>
            {
                if (outcome.Reservation is { } reservation)
                {
                    _ = outcome.Settled ? SqliteSpendLedger.Commit(session, reservation) : SqliteSpendLedger.MarkUnknown(session, reservation);
                }

                Update(session, outcome.JournalEntryId, outcome.State, outcome.Reference);
                return outcome.Receipt is { } receipt ? SqliteReceiptStore.Insert(session, receipt) : 0;
            },
            "recording a payment's outcome",
            cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<JournalEntry>> GetAllAsync(CancellationToken cancellationToken)
        => ValueTask.FromResult<IReadOnlyList<JournalEntry>>(_database.Read(
            session =>
            {
                var entries = new List<JournalEntry>();
                using var reader = session.Command($"SELECT {Columns} FROM journal ORDER BY seq").ExecuteReader();
                while (reader.Read())
                {
                    entries.Add(new JournalEntry(
                        Guid.Parse(reader.GetString(0)), Time(reader.GetString(1)), reader.GetString(2), reader.GetString(3), reader.GetString(4), reader.GetString(5),
                        reader.GetString(6), reader.GetString(7), reader.GetString(8), reader.GetString(9), reader.GetString(10), (JournalState)reader.GetInt32(11),
                        reader.IsDBNull(12) ? null : reader.GetString(12)));
                }

                return entries;
            },
            "reading the journal"));

    internal static int Insert(SqliteSession session, JournalEntry entry)
        => session.Execute(
            $"INSERT OR IGNORE INTO journal ({Columns}) VALUES (@p0, @p1, @p2, @p3, @p4, @p5, @p6, @p7, @p8, @p9, @p10, @p11, @p12)",
            entry.Id.ToString("D"), Text(entry.CreatedAt), entry.ClientName, entry.Origin, entry.Path, entry.ChallengeId, entry.Method, entry.Intent,
            entry.Asset, entry.Amount, entry.CredentialDigest, (int)entry.State, entry.Reference);

    private int Update(SqliteSession session, Guid id, JournalState state, string? reference)
        => session.Execute("UPDATE journal SET state = @p1, reference = coalesce(@p2, reference), updated_at = @p3 WHERE id = @p0", id.ToString("D"), (int)state, reference, _database.Now());

    internal static string Text(DateTimeOffset time) => time.ToString("O", CultureInfo.InvariantCulture);

    internal static DateTimeOffset Time(string text) => DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind);
}

/// <summary>Every receipt, in an SQLite file, in the order recorded.</summary>
public sealed class SqliteReceiptStore : IReceiptStore
{
    private const string Columns = "recorded_at, client_name, origin, path, challenge_id, method, intent, asset, amount, reference, receipt_json";
    private readonly MppSqliteDatabase _database;

    /// <summary>Initializes a receipt store in <paramref name="database"/>.</summary>
    /// <param name="database">The open database.</param>
    public SqliteReceiptStore(MppSqliteDatabase database)
    {
        ArgumentNullException.ThrowIfNull(database);
        _database = database;
    }

    internal MppSqliteDatabase Database => _database;

    /// <inheritdoc />
    public async ValueTask AddAsync(StoredReceipt receipt, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(receipt);
        await _database.ChangeAsync(session => Insert(session, receipt), "storing a receipt", cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<StoredReceipt>> GetAllAsync(CancellationToken cancellationToken)
        => ValueTask.FromResult<IReadOnlyList<StoredReceipt>>(_database.Read(
            session =>
            {
                var receipts = new List<StoredReceipt>();
                using var reader = session.Command($"SELECT {Columns} FROM receipts ORDER BY seq").ExecuteReader();
                while (reader.Read())
                {
                    receipts.Add(new StoredReceipt(
                        SqlitePaymentJournal.Time(reader.GetString(0)), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetString(4), reader.GetString(5),
                        reader.GetString(6), reader.GetString(7), reader.GetString(8), reader.GetString(9), reader.GetString(10)));
                }

                return receipts;
            },
            "reading the receipts"));

    internal static int Insert(SqliteSession session, StoredReceipt receipt)
        => session.Execute(
            $"INSERT INTO receipts ({Columns}) VALUES (@p0, @p1, @p2, @p3, @p4, @p5, @p6, @p7, @p8, @p9, @p10)",
            SqlitePaymentJournal.Text(receipt.RecordedAt), receipt.ClientName, receipt.Origin, receipt.Path, receipt.ChallengeId, receipt.Method, receipt.Intent,
            receipt.Asset, receipt.Amount, receipt.Reference, receipt.ReceiptJson);
}
