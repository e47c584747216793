using System.Text.RegularExpressions;
using Npgsql;

namespace Mpp.Client.Postgres;

/// <summary>
/// MppClient's tables in a PostgreSQL database, shared by every agent of a fleet: the budget ledger, the payment journal, the
/// receipts and the leased session channels. Opening creates or migrates the schema (versioned, under an advisory lock) and
/// refuses a schema that is not MppClient's or is newer than this library. Any database error, including an unreachable
/// server, surfaces as a <see cref="PaymentStoreException"/>: a payment that cannot reserve its budget is not made.
/// </summary>
public sealed partial class MppPostgresDatabase : IDisposable
{
    private readonly bool _ownsDataSource;

    private MppPostgresDatabase(NpgsqlDataSource dataSource, bool ownsDataSource, PostgresStoreOptions options, TimeProvider time)
    {
        DataSource = dataSource;
        _ownsDataSource = ownsDataSource;
        Schema = options.Schema;
        Time = time;
        OwnerId = StoreOwner.NewId();
    }

    /// <summary>Gets the schema holding the tables.</summary>
    public string Schema { get; }

    /// <summary>Gets the schema version (the version this library writes, once opened).</summary>
    public int SchemaVersion { get; private set; }

    internal NpgsqlDataSource DataSource { get; }

    internal TimeProvider Time { get; }

    /// <summary>Gets this database object's owner id (reservations and channel leases are tagged with it).</summary>
    internal string OwnerId { get; }

    /// <summary>Opens the stores on a connection string (a data source of its own, closed with this object).</summary>
    /// <param name="connectionString">An Npgsql connection string, e.g. <c>Host=db;Username=agent;Password=…;Database=payments</c>.</param>
    /// <param name="options">The schema; by default <c>mpp</c>.</param>
    /// <param name="timeProvider">The clock for reservations (leases use the database's clock).</param>
    /// <returns>The open database.</returns>
    /// <exception cref="PaymentStoreException">The server cannot be reached, or the schema is not MppClient's or is newer.</exception>
    public static MppPostgresDatabase Open(string connectionString, PostgresStoreOptions? options = null, TimeProvider? timeProvider = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        NpgsqlDataSource dataSource;
        try
        {
            // The slim builder maps only the plain types these stores use (text, bigint, uuid, timestamptz): no reflection.
            dataSource = new NpgsqlSlimDataSourceBuilder(connectionString).Build();
        }
        catch (ArgumentException ex)
        {
            throw new PaymentConfigurationException($"PostgreSQL store: the connection string is not valid ({ex.Message}).");
        }

        return Open(dataSource, ownsDataSource: true, options, timeProvider);
    }

    /// <summary>Opens the stores on a data source you own (its lifetime stays yours).</summary>
    /// <param name="dataSource">The data source.</param>
    /// <param name="options">The schema; by default <c>mpp</c>.</param>
    /// <param name="timeProvider">The clock for reservations (leases use the database's clock).</param>
    /// <returns>The open database.</returns>
    /// <exception cref="PaymentStoreException">The server cannot be reached, or the schema is not MppClient's or is newer.</exception>
    public static MppPostgresDatabase Open(NpgsqlDataSource dataSource, PostgresStoreOptions? options = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        return Open(dataSource, ownsDataSource: false, options, timeProvider);
    }

    /// <summary>Disposes the data source when this object created it.</summary>
    public void Dispose()
    {
        if (_ownsDataSource)
        {
            DataSource.Dispose();
        }
    }

    /// <summary>Runs <paramref name="work"/> on a pooled connection; any database error becomes a <see cref="PaymentStoreException"/>.</summary>
    internal async ValueTask<T> RunAsync<T>(Func<NpgsqlConnection, Task<T>> work, string doing, CancellationToken cancellationToken)
    {
        try
        {
            var connection = await DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using (connection.ConfigureAwait(false))
            {
                return await work(connection).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException or System.Net.Sockets.SocketException)
        {
            throw Failure(ex, doing);
        }
    }

    /// <summary>Runs <paramref name="work"/> in a transaction, committed when it returns.</summary>
    internal ValueTask<T> TransactAsync<T>(Func<NpgsqlConnection, Task<T>> work, string doing, CancellationToken cancellationToken)
        => RunAsync(
            async connection =>
            {
                var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
                await using (transaction.ConfigureAwait(false))
                {
                    var result = await work(connection).ConfigureAwait(false);
                    await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                    return result;
                }
            },
            doing,
            cancellationToken);

    /// <summary>A command with positional parameters <c>$1</c>, <c>$2</c>… (<c>{0}</c> in the text is the schema).</summary>
    internal NpgsqlCommand Command(NpgsqlConnection connection, string sql, params object?[] values)
    {
        var command = new NpgsqlCommand(sql.Replace("{0}", Schema, StringComparison.Ordinal), connection);
        foreach (var value in values)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value ?? DBNull.Value });
        }

        return command;
    }

    internal async Task<int> ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken, params object?[] values)
    {
        using var command = Command(connection, sql, values);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    internal PaymentStoreException Failure(Exception ex, string doing)
    {
        var state = (ex as PostgresException)?.SqlState;
        var what = state switch
        {
            "3D000" => "the database does not exist.",
            "28P01" or "28000" => "the server refused the credentials.",
            "42501" => "the user may not create or use MppClient's tables (grant it rights on the schema).",
            _ when ex is NpgsqlException { InnerException: System.Net.Sockets.SocketException or TimeoutException } or TimeoutException or System.Net.Sockets.SocketException
                => $"the server cannot be reached ({ex.InnerException?.Message ?? ex.Message}).",
            _ => $"{ex.GetType().Name}: {ex.Message}",
        };
        return new PaymentStoreException($"PostgreSQL store ({DataSource.ConnectionString.Split(';').FirstOrDefault(p => p.StartsWith("Host", StringComparison.OrdinalIgnoreCase)) ?? "server"}), {doing}: {what} Nothing is paid while the store cannot be used.", ex);
    }

    private static MppPostgresDatabase Open(NpgsqlDataSource dataSource, bool ownsDataSource, PostgresStoreOptions? options, TimeProvider? timeProvider)
    {
        options ??= new PostgresStoreOptions();
        if (!SchemaName().IsMatch(options.Schema))
        {
            throw new PaymentConfigurationException($"PostgreSQL store: the schema name '{options.Schema}' must be lowercase letters, digits and underscores.");
        }

        var database = new MppPostgresDatabase(dataSource, ownsDataSource, options, timeProvider ?? TimeProvider.System);
        try
        {
            database.SchemaVersion = database.TransactAsync(database.MigrateAsync, "creating or migrating the schema", CancellationToken.None).AsTask().GetAwaiter().GetResult();
            database.TransactAsync(database.SweepOrphanedReservationsAsync, "recovering reservations of processes that died", CancellationToken.None).AsTask().GetAwaiter().GetResult();
            return database;
        }
        catch
        {
            database.Dispose();
            throw;
        }
    }

    private async Task<int> MigrateAsync(NpgsqlConnection connection)
    {
        // One migrator at a time across the fleet (the lock ends with the transaction).
        await ExecuteAsync(connection, "SELECT pg_advisory_xact_lock(hashtextextended('mppclient-schema:' || $1, 0))", CancellationToken.None, Schema).ConfigureAwait(false);
        var tables = new List<string>();
        using (var command = Command(connection, "SELECT table_name::text FROM information_schema.tables WHERE table_schema = $1", Schema))
        using (var reader = await command.ExecuteReaderAsync().ConfigureAwait(false))
        {
            while (await reader.ReadAsync().ConfigureAwait(false))
            {
                tables.Add(reader.GetString(0));
            }
        }

        var version = 0;
        if (tables.Contains("mpp_schema"))
        {
            using var command = Command(connection, "SELECT product, version FROM {0}.mpp_schema WHERE id = 1");
            using var reader = await command.ExecuteReaderAsync().ConfigureAwait(false);
            if (!await reader.ReadAsync().ConfigureAwait(false) || reader.GetString(0) != PostgresSchema.Product)
            {
                throw new PaymentStoreException($"PostgreSQL store: the schema '{Schema}' has an mpp_schema table that MppClient did not write; it was left untouched.");
            }

            version = reader.GetInt32(1);
        }
        else if (tables.Count > 0)
        {
            throw new PaymentStoreException($"PostgreSQL store: the schema '{Schema}' holds tables that are not MppClient's ({string.Join(", ", tables.Order(StringComparer.Ordinal).Take(5))}); it was left untouched. Use a schema of its own (PostgresStoreOptions.Schema).");
        }
        else
        {
            await ExecuteAsync(connection, "CREATE SCHEMA IF NOT EXISTS {0}", CancellationToken.None).ConfigureAwait(false);
            await ExecuteAsync(connection, "CREATE TABLE {0}.mpp_schema (id int PRIMARY KEY CHECK (id = 1), product text NOT NULL, version int NOT NULL, updated_at timestamptz NOT NULL DEFAULT now())", CancellationToken.None).ConfigureAwait(false);
            await ExecuteAsync(connection, "INSERT INTO {0}.mpp_schema (id, product, version) VALUES (1, $1, 0)", CancellationToken.None, PostgresSchema.Product).ConfigureAwait(false);
        }

        if (version > PostgresSchema.CurrentVersion)
        {
            throw new PaymentStoreException($"PostgreSQL store: the schema '{Schema}' is at version {version}, written by a newer MppClient (this one knows up to {PostgresSchema.CurrentVersion}); it was left untouched. Upgrade MppClient.");
        }

        for (; version < PostgresSchema.CurrentVersion; version++)
        {
            await ExecuteAsync(connection, PostgresSchema.Migrations[version], CancellationToken.None).ConfigureAwait(false);
            await ExecuteAsync(connection, "UPDATE {0}.mpp_schema SET version = $1, updated_at = now() WHERE id = 1", CancellationToken.None, version + 1).ConfigureAwait(false);
        }

        foreach (var table in PostgresSchema.Tables)
        {
            using var command = Command(connection, "SELECT count(*) FROM information_schema.tables WHERE table_schema = $1 AND table_name = $2", Schema, table);
            if ((long)(await command.ExecuteScalarAsync().ConfigureAwait(false))! == 0)
            {
                throw new PaymentStoreException($"PostgreSQL store: the schema '{Schema}' is at version {version} but has no table '{table}': it is damaged and was left untouched.");
            }
        }

        return version;
    }

    private async Task<int> SweepOrphanedReservationsAsync(NpgsqlConnection connection)
    {
        // As in the SQLite store: reservations of a process on this host that died become "unknown" (still counted), except
        // the deposits session channels hold. Owners on other hosts cannot be checked from here and stay as they are.
        var owners = new List<string>();
        using (var command = Command(connection, "SELECT DISTINCT owner FROM {0}.ledger_entries WHERE state = 0"))
        using (var reader = await command.ExecuteReaderAsync().ConfigureAwait(false))
        {
            while (await reader.ReadAsync().ConfigureAwait(false))
            {
                owners.Add(reader.GetString(0));
            }
        }

        var swept = 0;
        foreach (var owner in owners.Where(StoreOwner.IsDeadOnThisMachine))
        {
            swept += await ExecuteAsync(
                connection,
                "UPDATE {0}.ledger_entries SET state = 2 WHERE state = 0 AND owner = $1 AND id::text NOT IN (SELECT r->>'id' FROM {0}.channels, jsonb_array_elements(record->'reservations') AS r)",
                CancellationToken.None,
                owner).ConfigureAwait(false);
        }

        return swept;
    }

    [GeneratedRegex("^[a-z_][a-z0-9_]{0,62}$")]
    private static partial Regex SchemaName();
}
