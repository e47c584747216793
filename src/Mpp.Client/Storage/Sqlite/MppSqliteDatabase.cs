using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.Data.Sqlite;

namespace Mpp.Client;

/// <summary>
/// One SQLite file holding MppClient's durable state: the budget ledger, the payment journal, the receipts and (with
/// <c>Mpp.Client.Tempo</c>) the session channels. WAL mode; every change is one transaction, and every reservation and every
/// voucher high-water mark takes the write lock first (<c>BEGIN IMMEDIATE</c>), so several processes on one machine can share
/// the file. Opening checks the file (<c>quick_check</c>), refuses one that is not MppClient's or was written by a newer
/// version, and creates or migrates the schema.
/// </summary>
public sealed class MppSqliteDatabase : IDisposable
{
    private static readonly Lazy<bool> Initialized = new(() =>
    {
        SQLitePCL.Batteries_V2.Init();
        return true;
    });

    private readonly string _connectionString;
    private readonly SqliteStoreOptions _options;
    private readonly ConcurrentBag<SqliteSession> _idle = [];
    private readonly SemaphoreSlim _writeGate = new(1, 1);
    private ITimer? _checkpoints;
    private volatile bool _disposed;

    private MppSqliteDatabase(SqliteStoreOptions options, TimeProvider timeProvider)
    {
        _options = options;
        Path = System.IO.Path.GetFullPath(options.Path);
        Time = timeProvider;
        OwnerId = StoreOwner.NewId();
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = Path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = false,
            DefaultTimeout = Math.Max(1, (int)Math.Ceiling(options.BusyTimeout.TotalSeconds)),
        }.ToString();
    }

    /// <summary>Gets the database file's full path.</summary>
    public string Path { get; }

    /// <summary>Gets the schema version of the file (the version this library writes, once opened).</summary>
    public int SchemaVersion { get; private set; }

    /// <summary>Gets the folder whose earlier file stores are imported on first open, if any.</summary>
    internal string? ImportFrom => _options.ImportFrom;

    /// <summary>Gets this database object's owner id (reservations and channel leases are tagged with it).</summary>
    internal string OwnerId { get; }

    internal TimeProvider Time { get; }

    /// <summary>Opens (creating when missing) and checks the database, migrates its schema and imports earlier file stores once.</summary>
    /// <param name="options">Where the file is and how it is written.</param>
    /// <param name="timeProvider">The clock (reservations, imports, leases).</param>
    /// <returns>The open database.</returns>
    /// <exception cref="PaymentStoreException">The file cannot be opened, is damaged, is not MppClient's, or is newer than this library.</exception>
    public static MppSqliteDatabase Open(SqliteStoreOptions options, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrWhiteSpace(options.Path))
        {
            throw new PaymentConfigurationException("SQLite store: Path is required.");
        }

        if (options.BusyTimeout <= TimeSpan.Zero)
        {
            throw new PaymentConfigurationException("SQLite store: BusyTimeout must be positive.");
        }

        _ = Initialized.Value;
        var database = new MppSqliteDatabase(options, timeProvider ?? TimeProvider.System);
        try
        {
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(database.Path)!);
            database.Initialize();
            return database;
        }
        catch (Exception ex) when (ex is SqliteException or IOException or UnauthorizedAccessException)
        {
            database.Dispose();
            throw database.Failure(ex, "opening");
        }
        catch
        {
            database.Dispose();
            throw;
        }
    }

    /// <summary>Closes every connection.</summary>
    public void Dispose()
    {
        _disposed = true;
        _checkpoints?.Dispose();
        while (_idle.TryTake(out var session))
        {
            session.Dispose();
        }
    }

    /// <summary>Runs <paramref name="read"/> on a connection (no transaction; each statement sees a consistent snapshot).</summary>
    internal T Read<T>(Func<SqliteSession, T> read, string doing)
    {
        var session = Rent();
        try
        {
            return read(session);
        }
        catch (SqliteException ex)
        {
            throw Failure(ex, doing);
        }
        finally
        {
            Return(session);
        }
    }

    /// <summary>Runs <paramref name="write"/> in a write transaction (<c>BEGIN IMMEDIATE</c>): it sees and changes the latest state, atomically.</summary>
    internal ValueTask<T> WriteAsync<T>(Func<SqliteSession, T> write, string doing, CancellationToken cancellationToken)
        => QueuedAsync(() => Write(write, doing), cancellationToken);

    /// <summary>Runs one change without an explicit transaction (a single statement is atomic on its own), queued with the other writers.</summary>
    internal ValueTask<T> ChangeAsync<T>(Func<SqliteSession, T> change, string doing, CancellationToken cancellationToken)
        => QueuedAsync(() => Read(change, doing), cancellationToken);

    /// <summary>Turns a database error into the typed error callers see (nothing is paid on it).</summary>
    internal PaymentStoreException Failure(Exception ex, string doing)
    {
        var code = (ex as SqliteException)?.SqliteErrorCode ?? 0;
        var what = code switch
        {
            26 => $"'{Path}' is not an SQLite database (or its header is damaged); it was left untouched. Move it away or point the store at another file.",
            11 => $"'{Path}' is damaged (SQLite reports corruption); it was left untouched. Restore it from a backup or move it away; nothing is paid until the store works.",
            5 or 6 => $"'{Path}' stayed locked by another process for longer than the busy timeout ({_options.BusyTimeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s).",
            8 => $"'{Path}' is read-only.",
            13 => $"the disk holding '{Path}' is full.",
            14 => $"'{Path}' cannot be opened (check the folder and its permissions).",
            _ => $"'{Path}' failed ({ex.GetType().Name}: {ex.Message}).",
        };
        return new PaymentStoreException($"SQLite store, {doing}: {what}", ex);
    }

    /// <summary>Writers of this process queue here, without spinning on the file lock; other processes wait in SQLite's busy handler.</summary>
    private async ValueTask<T> QueuedAsync<T>(Func<T> run, CancellationToken cancellationToken)
    {
        await _writeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return run();
        }
        finally
        {
            _writeGate.Release();
        }
    }

    private T Write<T>(Func<SqliteSession, T> write, string doing)
    {
        var session = Rent();
        try
        {
            using var transaction = session.Connection.BeginTransaction(deferred: false); // BEGIN IMMEDIATE
            session.Transaction = transaction;
            var result = write(session);
            transaction.Commit();
            return result;
        }
        catch (SqliteException ex)
        {
            throw Failure(ex, doing);
        }
        finally
        {
            session.Transaction = null;
            Return(session);
        }
    }

    private SqliteSession Rent()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_idle.TryTake(out var session))
        {
            return session;
        }

        var connection = new SqliteConnection(_connectionString);
        try
        {
            connection.Open();
            using var pragmas = connection.CreateCommand();
            // No checkpoint on the commit path (it fsyncs): a timer runs them in the background (see Initialize).
            pragmas.CommandText = $"PRAGMA busy_timeout = {(long)_options.BusyTimeout.TotalMilliseconds}; PRAGMA synchronous = {(_options.FlushToDisk ? "FULL" : "NORMAL")}; PRAGMA foreign_keys = ON; PRAGMA wal_autocheckpoint = 0;";
            pragmas.ExecuteNonQuery();
        }
        catch
        {
            connection.Dispose();
            throw;
        }

        return new SqliteSession(connection);
    }

    private void Return(SqliteSession session)
    {
        if (_disposed || session.Connection.State != System.Data.ConnectionState.Open)
        {
            session.Dispose();
            return;
        }

        _idle.Add(session);
    }

    private void Initialize()
    {
        Read(
            session =>
            {
                // The first statement reads the header: a file that is not SQLite fails here, before anything is written to it.
                using (var mode = session.Connection.CreateCommand())
                {
                    mode.CommandText = "PRAGMA journal_mode = WAL;";
                    var result = mode.ExecuteScalar() as string;
                    if (!string.Equals(result, "wal", StringComparison.OrdinalIgnoreCase))
                    {
                        throw new PaymentStoreException($"SQLite store: '{Path}' could not be switched to WAL mode (it reports '{result}'); a file on a network share is not supported.");
                    }
                }

                using var check = session.Connection.CreateCommand();
                check.CommandText = "PRAGMA quick_check(5);";
                var problems = new List<string>();
                using (var reader = check.ExecuteReader())
                {
                    while (reader.Read())
                    {
                        problems.Add(reader.GetString(0));
                    }
                }

                if (problems is not ["ok"])
                {
                    throw new PaymentStoreException($"SQLite store: '{Path}' is damaged ({string.Join("; ", problems)}); it was left untouched. Restore it from a backup or move it away; nothing is paid until the store works.");
                }

                return true;
            },
            "checking the file");
        SchemaVersion = Write(Migrate, "creating or migrating the schema");
        Write(ImportLegacyFiles, "importing the earlier file stores");
        Write(SweepOrphanedReservations, "recovering reservations of processes that died");
        _checkpoints = Time.CreateTimer(_ => Checkpoint(), null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
    }

    /// <summary>Copies the WAL into the database file without blocking writers (PASSIVE); a failure is retried by the next tick.</summary>
    private void Checkpoint()
    {
        if (_disposed)
        {
            return;
        }

        try
        {
            Read(session => session.Execute("PRAGMA wal_checkpoint(PASSIVE)"), "checkpointing");
        }
        catch (Exception ex) when (ex is PaymentStoreException or ObjectDisposedException)
        {
            // The WAL keeps growing until a checkpoint succeeds; nothing is lost.
        }
    }

    private int Migrate(SqliteSession session)
    {
        var tables = new HashSet<string>(StringComparer.Ordinal);
        using (var reader = session.Command("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").ExecuteReader())
        {
            while (reader.Read())
            {
                tables.Add(reader.GetString(0));
            }
        }

        var version = 0;
        if (tables.Contains("mpp_schema"))
        {
            using var reader = session.Command("SELECT product, version FROM mpp_schema WHERE id = 1").ExecuteReader();
            if (!reader.Read() || reader.GetString(0) != SqliteSchema.Product)
            {
                throw new PaymentStoreException($"SQLite store: '{Path}' has an mpp_schema table that MppClient did not write; it was left untouched.");
            }

            version = reader.GetInt32(1);
        }
        else if (tables.Count > 0)
        {
            throw new PaymentStoreException($"SQLite store: '{Path}' holds tables that are not MppClient's ({string.Join(", ", tables.Order(StringComparer.Ordinal).Take(5))}); it was left untouched. Point the store at a file of its own.");
        }
        else
        {
            session.Execute("CREATE TABLE mpp_schema (id INTEGER PRIMARY KEY CHECK (id = 1), product TEXT NOT NULL, version INTEGER NOT NULL, updated_at TEXT NOT NULL)");
            session.Execute("INSERT INTO mpp_schema (id, product, version, updated_at) VALUES (1, @p0, 0, @p1)", SqliteSchema.Product, Now());
        }

        if (version > SqliteSchema.CurrentVersion)
        {
            throw new PaymentStoreException($"SQLite store: '{Path}' has schema version {version}, written by a newer MppClient (this one knows up to {SqliteSchema.CurrentVersion}); it was left untouched. Upgrade MppClient.");
        }

        for (; version < SqliteSchema.CurrentVersion; version++)
        {
            session.Script(SqliteSchema.Migrations[version]);
            session.Execute("UPDATE mpp_schema SET version = @p0, updated_at = @p1 WHERE id = 1", version + 1, Now());
        }

        foreach (var table in SqliteSchema.Tables)
        {
            if (session.Scalar("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = @p0", table) == 0)
            {
                throw new PaymentStoreException($"SQLite store: '{Path}' is at schema version {version} but has no table '{table}': it is damaged and was left untouched.");
            }
        }

        return version;
    }

    private bool ImportLegacyFiles(SqliteSession session)
    {
        if (_options.ImportFrom is not { } folder)
        {
            return false;
        }

        LegacyFileImport.Import(session, System.IO.Path.GetFullPath(folder), Now());
        return true;
    }

    private int SweepOrphanedReservations(SqliteSession session)
    {
        // A reservation still "reserved" by a process that died may have been paid: it becomes "unknown" (still counted).
        // Deposits a session channel holds are not in flight (the channel settles them at close) and stay reserved.
        var owners = new List<string>();
        using (var reader = session.Command("SELECT DISTINCT owner FROM ledger_entries WHERE state = 0").ExecuteReader())
        {
            while (reader.Read())
            {
                owners.Add(reader.GetString(0));
            }
        }

        var swept = 0;
        foreach (var owner in owners.Where(StoreOwner.IsDeadOnThisMachine))
        {
            swept += session.Execute("UPDATE ledger_entries SET state = 2 WHERE state = 0 AND owner = @p0 AND id NOT IN (SELECT json_extract(r.value, '$.id') FROM channels, json_each(channels.record, '$.reservations') AS r)", owner);
        }

        return swept;
    }

    internal string Now() => Time.GetUtcNow().ToString("O", CultureInfo.InvariantCulture);
}
