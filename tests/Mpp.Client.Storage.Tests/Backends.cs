using Mpp.Client.Postgres;
using Mpp.Client.Tempo;

namespace Mpp.Client.Storage.Tests;

/// <summary>Where a test keeps its state.</summary>
public enum Backend
{
    Memory,
    Sqlite,
    Postgres,
}

/// <summary>The PostgreSQL server the <c>Postgres</c> category runs against: <c>MPP_TEST_POSTGRES</c>, or a loud failure.</summary>
internal static class PostgresServer
{
    public const string Variable = "MPP_TEST_POSTGRES";

    public static string ConnectionString => Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } value
        ? value
        : throw new InvalidOperationException($"The Postgres tests need a PostgreSQL server: set {Variable} to an Npgsql connection string (eng/with-postgres.sh starts a throwaway cluster and sets it; .ci/run does so).");

    /// <summary>A schema of its own per test, so tests never see each other's rows.</summary>
    public static string NewSchema() => "t_" + Guid.NewGuid().ToString("N")[..20];

    public static MppPostgresDatabase Open(string schema, TimeProvider? time = null) => MppPostgresDatabase.Open(ConnectionString, new PostgresStoreOptions { Schema = schema }, time);
}

/// <summary>One backend's ledger, journal, receipts and channel store over one database; <see cref="Reopen"/> is a new process's view of it.</summary>
internal sealed class Stores : IDisposable
{
    private readonly List<IDisposable> _owned = [];

    private Stores(Backend backend, string location, TimeProvider time, TimeSpan? leaseDuration)
    {
        Backend = backend;
        Location = location;
        Time = time;
        LeaseDuration = leaseDuration;
        switch (backend)
        {
            case Backend.Memory:
                Ledger = new InMemorySpendLedger(time);
                Journal = new InMemoryPaymentJournal();
                Receipts = new InMemoryReceiptStore();
                Channels = new InMemoryChannelStore();
                break;
            case Backend.Sqlite:
                var sqlite = Own(MppSqliteDatabase.Open(new SqliteStoreOptions { Path = location }, time));
                Ledger = new SqliteSpendLedger(sqlite);
                Journal = new SqlitePaymentJournal(sqlite);
                Receipts = new SqliteReceiptStore(sqlite);
                Channels = Own(new SqliteChannelStore(sqlite, leaseDuration));
                break;
            default:
                var postgres = Own(PostgresServer.Open(location, time));
                Ledger = new PostgresSpendLedger(postgres);
                Journal = new PostgresPaymentJournal(postgres);
                Receipts = new PostgresReceiptStore(postgres);
                Channels = Own(new PostgresChannelStore(postgres, leaseDuration));
                break;
        }
    }

    public Backend Backend { get; }

    /// <summary>Gets the SQLite file or the PostgreSQL schema.</summary>
    public string Location { get; }

    public TimeProvider Time { get; }

    public TimeSpan? LeaseDuration { get; }

    public ISpendLedger Ledger { get; }

    public IPaymentJournal Journal { get; }

    public IReceiptStore Receipts { get; }

    public IChannelStore Channels { get; }

    /// <summary>The stores of an existing SQLite file or PostgreSQL schema.</summary>
    public static Stores At(Backend backend, string location) => new(backend, location, TimeProvider.System, null);

    public static Stores Create(Backend backend, TimeProvider? time = null, TimeSpan? leaseDuration = null)
        => new(backend, backend == Backend.Sqlite ? NewSqlitePath() : backend == Backend.Postgres ? PostgresServer.NewSchema() : string.Empty, time ?? TimeProvider.System, leaseDuration);

    public static string NewSqlitePath() => Path.Combine(Path.GetTempPath(), "mpp-test-" + Guid.NewGuid().ToString("N"), "mpp.db");

    /// <summary>The same database opened again, as another process (another owner) would.</summary>
    public Stores Reopen(TimeProvider? time = null) => new(Backend, Location, time ?? Time, LeaseDuration);

    public void Dispose()
    {
        for (var i = _owned.Count - 1; i >= 0; i--)
        {
            _owned[i].Dispose();
        }
    }

    private T Own<T>(T disposable)
        where T : IDisposable
    {
        _owned.Add(disposable);
        return disposable;
    }
}
