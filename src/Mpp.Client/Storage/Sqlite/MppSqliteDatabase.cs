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
    /// <summary>Writes of this process between two background checkpoints (a paid call makes three or four).</summary>
    private const int WritesBeforeCheckpoint = 2000;

    /// <summary>About 32 MB of WAL (4 KiB pages): past it, a background checkpoint also makes the next write start the WAL over.</summary>
    private const long WalFramesBeforeRestart = 8192;

    /// <summary>A restart waits 100 ms at most for other processes' writers and readers, then gives up until the next checkpoint.</summary>
    private const string RestartWaitPragma = "PRAGMA busy_timeout = 100";

    /// <summary>Writes after which, if no checkpoint has started the WAL over meanwhile (the disk is slower than the writers), a writer does it itself.</summary>
    private const int WritesBeforeForcedRestart = 10_000;

    /// <summary>Writes after a restart that could not finish before a writer tries again.</summary>
    private const int WritesBeforeRetry = 2000;

    private static readonly Lazy<bool> Initialized = new(() =>
    {
        SQLitePCL.Batteries_V2.Init();
        return true;
    });

    private readonly string _connectionString;
    private readonly string _busyTimeoutPragma;
    private readonly SqliteStoreOptions _options;
    private readonly ConcurrentBag<SqliteSession> _idle = [];
    private readonly SemaphoreSlim _writeGate = new(1, 1);
    private SqliteSession? _writer; // the one connection every write of this process goes through, under _writeGate
    private ITimer? _checkpoints;
    private int _checkpointing;
    private int _writesSinceCheckpoint;
    private int _writesSinceRestart;
    private volatile bool _disposed;

    private MppSqliteDatabase(SqliteStoreOptions options, TimeProvider timeProvider)
    {
        _options = options;
        Path = System.IO.Path.GetFullPath(options.Path);
        Time = timeProvider;
        OwnerId = StoreOwner.NewId();
        _busyTimeoutPragma = $"PRAGMA busy_timeout = {(long)options.BusyTimeout.TotalMilliseconds}";
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

        // A write in progress keeps the writer connection until it ends (it holds the gate), then closes it.
        if (_writeGate.Wait(0))
        {
            try
            {
                _writer?.Dispose();
                _writer = null;
            }
            finally
            {
                _writeGate.Release();
            }
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
        => QueuedAsync(write, transaction: true, doing, cancellationToken);

    /// <summary>Runs one change without an explicit transaction (a single statement is atomic on its own), queued with the other writers.</summary>
    internal ValueTask<T> ChangeAsync<T>(Func<SqliteSession, T> change, string doing, CancellationToken cancellationToken)
        => QueuedAsync(change, transaction: false, doing, cancellationToken);

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

    /// <summary>
    /// Writers of this process queue here, without spinning on the file lock (other processes wait in SQLite's busy handler),
    /// and all use one connection: its page cache stays valid from one write to the next (a connection that sees another
    /// one's commit drops its cache) and its statements stay prepared.
    /// </summary>
    private ValueTask<T> QueuedAsync<T>(Func<SqliteSession, T> run, bool transaction, string doing, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<T>(cancellationToken);
        }

        if (!_writeGate.Wait(0, CancellationToken.None))
        {
            return WaitThenRunAsync(run, transaction, doing, cancellationToken);
        }

        // The usual case, nobody else writing: no await.
        try
        {
            return new ValueTask<T>(RunWriter(run, transaction, doing));
        }
        catch (Exception ex)
        {
            return ValueTask.FromException<T>(ex);
        }
    }

    private async ValueTask<T> WaitThenRunAsync<T>(Func<SqliteSession, T> run, bool transaction, string doing, CancellationToken cancellationToken)
    {
        await _writeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        return RunWriter(run, transaction, doing);
    }

    /// <summary>Runs a write on the writer connection; the caller holds the gate, which this releases.</summary>
    private T RunWriter<T>(Func<SqliteSession, T> run, bool transaction, string doing)
    {
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var session = _writer ??= Connect();
            try
            {
                var result = transaction ? InTransaction(session, run) : run(session);
                if (++_writesSinceRestart >= WritesBeforeForcedRestart)
                {
                    ForcedRestart(session);
                }
                else if (Interlocked.Increment(ref _writesSinceCheckpoint) >= WritesBeforeCheckpoint)
                {
                    RequestCheckpoint();
                }

                return result;
            }
            catch (Exception) when (session.Connection.State != System.Data.ConnectionState.Open)
            {
                _writer = null; // broken: the next write opens a fresh one
                session.Dispose();
                throw;
            }
        }
        catch (SqliteException ex)
        {
            throw Failure(ex, doing);
        }
        finally
        {
            if (_disposed && _writer is { } closing)
            {
                _writer = null; // disposed meanwhile: the last writer closes the connection
                closing.Dispose();
            }

            _writeGate.Release();
        }
    }

    /// <summary><c>BEGIN IMMEDIATE</c> (the write lock first, so what it reads is the latest), the work, <c>COMMIT</c>; any failure rolls back.</summary>
    private static T InTransaction<T>(SqliteSession session, Func<SqliteSession, T> write)
    {
        session.Execute("BEGIN IMMEDIATE");
        try
        {
            var result = write(session);
            session.Execute("COMMIT");
            return result;
        }
        catch
        {
            session.RollBack();
            throw;
        }
    }

    /// <summary>A write transaction run synchronously (start-up, before anything else can write).</summary>
    private T Write<T>(Func<SqliteSession, T> write, string doing)
    {
        _writeGate.Wait();
        return RunWriter(write, transaction: true, doing);
    }

    private SqliteSession Rent()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _idle.TryTake(out var session) ? session : Connect();
    }

    private SqliteSession Connect()
    {
        var connection = new SqliteConnection(_connectionString);
        try
        {
            connection.Open();
            using var pragmas = connection.CreateCommand();
            // No checkpoint on the commit path (it fsyncs): they run in the background (see RequestCheckpoint). A WAL that grew
            // in a burst is cut back to 64 MB when it starts over.
            pragmas.CommandText = $"{_busyTimeoutPragma}; PRAGMA synchronous = {(_options.FlushToDisk ? "FULL" : "NORMAL")}; PRAGMA foreign_keys = ON; PRAGMA wal_autocheckpoint = 0; PRAGMA journal_size_limit = 67108864;";
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
        _checkpoints = Time.CreateTimer(static state => ((MppSqliteDatabase)state!).RequestCheckpoint(), this, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
    }

    /// <summary>
    /// Copies the WAL into the database file in the background, so no paid call waits for a checkpoint's copying and
    /// <c>fsync</c>. A first PASSIVE pass, on a connection of its own, blocks nobody. SQLite starts the WAL over only at a write
    /// that finds every frame copied and no reader in it, which steady writing never leaves room for, so the WAL would grow
    /// without end (gigabytes within a minute of back-to-back paid calls): once it holds <see cref="WalFramesBeforeRestart"/>
    /// frames, a second pass (RESTART) copies what was written meanwhile with this process's writers held, and waits out other
    /// processes' writers and readers (100 ms at most), so the next write starts the WAL over. Runs every second and
    /// after every <see cref="WritesBeforeCheckpoint"/> writes of this process; a failure is retried by the next run (the WAL
    /// grows meanwhile; nothing is lost). Writers faster than the disk would outrun it: after
    /// <see cref="WritesBeforeForcedRestart"/> writes with no restart, the writer itself waits for one.
    /// </summary>
    private void RequestCheckpoint()
    {
        if (_disposed || Interlocked.CompareExchange(ref _checkpointing, 1, 0) != 0)
        {
            return;
        }

        Volatile.Write(ref _writesSinceCheckpoint, 0);
        ThreadPool.UnsafeQueueUserWorkItem(static database => database.Checkpoint(), this, preferLocal: false);
    }

    private void Checkpoint()
    {
        try
        {
            if (_disposed || Read(static session => WalCheckpoint(session, "PASSIVE"), "checkpointing").Log < WalFramesBeforeRestart)
            {
                return;
            }

            _writeGate.Wait();
            _ = RunWriter(Restart, transaction: false, "checkpointing");
        }
        catch (Exception ex) when (ex is PaymentStoreException or ObjectDisposedException)
        {
            // The WAL keeps growing until a checkpoint succeeds; nothing is lost.
        }
        finally
        {
            Volatile.Write(ref _checkpointing, 0);
        }
    }

    /// <summary>
    /// A RESTART checkpoint on the writer connection (the caller holds the gate): the next write starts the WAL over. It waits
    /// for other processes' writers and readers, and for a checkpoint already copying, for 100 ms at most, not the busy
    /// timeout, since this process's writers wait behind it (a reader that stays, such as an open sqlite3 shell, only
    /// postpones the restart). One that could not finish is tried again by a writer <see cref="WritesBeforeRetry"/> writes later.
    /// </summary>
    /// <returns>Whether the WAL will start over.</returns>
    private bool Restart(SqliteSession writer)
    {
        var restarted = false;
        try
        {
            writer.Execute(RestartWaitPragma);
            try
            {
                restarted = WalCheckpoint(writer, "RESTART").Busy == 0;
            }
            finally
            {
                writer.Execute(_busyTimeoutPragma);
            }
        }
        finally
        {
            _writesSinceRestart = restarted ? 0 : WritesBeforeForcedRestart - WritesBeforeRetry;
        }

        return restarted;
    }

    /// <summary>A restart after a committed write: its failure must not fail the write (a later write tries again).</summary>
    private void ForcedRestart(SqliteSession writer)
    {
        try
        {
            _ = Restart(writer);
        }
        catch (SqliteException)
        {
            // Restart has set when to try again.
        }
    }

    /// <summary>One checkpoint in <paramref name="mode"/>: whether it could not finish, and how many frames the WAL held.</summary>
    private static (long Busy, long Log) WalCheckpoint(SqliteSession session, string mode)
    {
        using var reader = session.Command(mode == "RESTART" ? "PRAGMA wal_checkpoint(RESTART)" : "PRAGMA wal_checkpoint(PASSIVE)").ExecuteReader();
        return reader.Read() ? (reader.GetInt64(0), reader.GetInt64(1)) : (1, 0);
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
