namespace Mpp.Client.Postgres;

/// <summary>The payment journal in PostgreSQL: each entry is written before its credential leaves and updated with the outcome.</summary>
public sealed class PostgresPaymentJournal : IPaymentJournal
{
    private const string Columns = "id, created_at, client_name, origin, path, challenge_id, method, intent, asset, amount, credential_digest, state, reference";
    private readonly MppPostgresDatabase _database;

    /// <summary>Initializes a journal in <paramref name="database"/>.</summary>
    /// <param name="database">The open database.</param>
    public PostgresPaymentJournal(MppPostgresDatabase database)
    {
        ArgumentNullException.ThrowIfNull(database);
        _database = database;
    }

    /// <inheritdoc />
    public async ValueTask RecordAsync(JournalEntry entry, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        await _database.RunAsync(
            c => _database.ExecuteAsync(
                c,
                $"INSERT INTO {{0}}.journal ({Columns}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT (id) DO NOTHING",
                cancellationToken,
                entry.Id, entry.CreatedAt.UtcDateTime, entry.ClientName, entry.Origin, entry.Path, entry.ChallengeId, entry.Method, entry.Intent, entry.Asset, entry.Amount,
                entry.CredentialDigest, (short)entry.State, entry.Reference),
            "writing the journal",
            cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask UpdateAsync(Guid id, JournalState state, string? reference, CancellationToken cancellationToken)
    {
        await _database.RunAsync(
            c => _database.ExecuteAsync(c, "UPDATE {0}.journal SET state = $2, reference = coalesce($3, reference), updated_at = $4 WHERE id = $1", cancellationToken, id, (short)state, reference, _database.Time.GetUtcNow().UtcDateTime),
            "updating the journal",
            cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<JournalEntry>> GetAllAsync(CancellationToken cancellationToken)
        => _database.RunAsync<IReadOnlyList<JournalEntry>>(
            async connection =>
            {
                var entries = new List<JournalEntry>();
                using var command = _database.Command(connection, $"SELECT {Columns} FROM {{0}}.journal ORDER BY seq");
                using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    entries.Add(new JournalEntry(
                        reader.GetGuid(0), new DateTimeOffset(reader.GetDateTime(1)), reader.GetString(2), reader.GetString(3), reader.GetString(4), reader.GetString(5),
                        reader.GetString(6), reader.GetString(7), reader.GetString(8), reader.GetString(9), reader.GetString(10), (JournalState)reader.GetInt16(11),
                        reader.IsDBNull(12) ? null : reader.GetString(12)));
                }

                return entries;
            },
            "reading the journal",
            cancellationToken);
}

/// <summary>Every receipt of a fleet, in PostgreSQL, in the order recorded.</summary>
public sealed class PostgresReceiptStore : IReceiptStore
{
    private const string Columns = "recorded_at, client_name, origin, path, challenge_id, method, intent, asset, amount, reference, receipt_json";
    private readonly MppPostgresDatabase _database;

    /// <summary>Initializes a receipt store in <paramref name="database"/>.</summary>
    /// <param name="database">The open database.</param>
    public PostgresReceiptStore(MppPostgresDatabase database)
    {
        ArgumentNullException.ThrowIfNull(database);
        _database = database;
    }

    /// <inheritdoc />
    public async ValueTask AddAsync(StoredReceipt receipt, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(receipt);
        await _database.RunAsync(
            c => _database.ExecuteAsync(
                c,
                $"INSERT INTO {{0}}.receipts ({Columns}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                cancellationToken,
                receipt.RecordedAt.UtcDateTime, receipt.ClientName, receipt.Origin, receipt.Path, receipt.ChallengeId, receipt.Method, receipt.Intent, receipt.Asset,
                receipt.Amount, receipt.Reference, receipt.ReceiptJson),
            "storing a receipt",
            cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<StoredReceipt>> GetAllAsync(CancellationToken cancellationToken)
        => _database.RunAsync<IReadOnlyList<StoredReceipt>>(
            async connection =>
            {
                var receipts = new List<StoredReceipt>();
                using var command = _database.Command(connection, $"SELECT {Columns} FROM {{0}}.receipts ORDER BY seq");
                using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    receipts.Add(new StoredReceipt(
                        new DateTimeOffset(reader.GetDateTime(0)), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetString(4), reader.GetString(5),
                        reader.GetString(6), reader.GetString(7), reader.GetString(8), reader.GetString(9), reader.GetString(10)));
                }

                return receipts;
            },
            "reading the receipts",
            cancellationToken);
}
