using System.Net;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.DependencyInjection;
using Mpp.Client.Protocol;

namespace Mpp.Client.Benchmarks;

/// <summary>
/// What a durable store costs per paid call: the ledger's reservation and commit alone, and a whole paid call through the
/// payment handler (402, quote, reserve, journal, resend, receipt, commit, journal update, receipt stored) with a method whose
/// credential costs nothing, over a stub server. In memory, in an SQLite file (WAL, synchronous=NORMAL), and in PostgreSQL on
/// loopback (<c>MPP_BENCH_POSTGRES</c>, else <c>MPP_TEST_POSTGRES</c>, as an Npgsql connection string).
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class StoreBenchmarks
{
    private const string Url = "https://api.example.com/resource";
    // No rolling window: the in-memory ledger scans its entries for one, so a window would make its figure grow with the run.
    private static readonly SpendLimit Limit = new(HandlerBenchmarks.Coin.Id, perRequest: 10, total: long.MaxValue / 2);

    private ServiceProvider _services = null!;
    private ISpendLedger _ledger = null!;
    private HttpClient _client = null!;
    private string? _directory;

    [Params("memory", "sqlite", "postgres")]
    public string Store { get; set; } = "memory";

    [GlobalSetup]
    public void Setup()
    {
        var services = new ServiceCollection();
        var mpp = services.AddMpp().AddMethod(new HandlerBenchmarks.FreeMethod());
        switch (Store)
        {
            case "sqlite":
                _directory = Path.Combine(Path.GetTempPath(), "mpp-bench-" + Guid.NewGuid().ToString("N"));
                mpp.UseSqlite(Path.Combine(_directory, "mpp.db"));
                break;
            case "postgres":
                var connection = Environment.GetEnvironmentVariable("MPP_BENCH_POSTGRES") ?? Environment.GetEnvironmentVariable("MPP_TEST_POSTGRES")
                    ?? throw new InvalidOperationException("The postgres case needs MPP_BENCH_POSTGRES (or MPP_TEST_POSTGRES): an Npgsql connection string.");
                mpp.UsePostgres(connection, o => o.Schema = "bench_" + Guid.NewGuid().ToString("N")[..12]);
                break;
        }

        services.AddHttpClient("bench").AddMppPayments(o => o.Budget.Limit(HandlerBenchmarks.Coin, perRequest: 1m, total: 1_000_000_000_000m))
            .ConfigurePrimaryHttpMessageHandler(() => new ChallengeThenReceiptHandler());
        _services = services.BuildServiceProvider();
        _ledger = _services.GetRequiredService<ISpendLedger>();
        _client = _services.GetRequiredService<IHttpClientFactory>().CreateClient("bench");
        using var first = _client.GetAsync(Url).GetAwaiter().GetResult();
        if (first.StatusCode != HttpStatusCode.OK || first.GetPaymentReceipt() is null)
        {
            throw new InvalidOperationException($"The paid call answered {(int)first.StatusCode} without a stored receipt.");
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _services.Dispose();
        if (_directory is not null)
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    [Benchmark(Description = "Ledger: reserve + commit")]
    public async Task ReserveAndCommit()
    {
        var reserved = await _ledger.TryReserveAsync(new SpendRequest("bench", "api.example.com", new AssetAmount(HandlerBenchmarks.Coin.Id, 1), 1, Limit, "bench"), CancellationToken.None);
        await _ledger.CommitAsync(reserved.Reservation!, CancellationToken.None);
    }

    [Benchmark(Description = "Paid call through the handler, stub server (signing excluded)")]
    public async Task<int> PaidCall()
    {
        using var response = await _client.GetAsync(Url);
        return (int)response.StatusCode;
    }

    /// <summary>402 with one challenge (made once) for an unpaid request; 200 with a receipt for that challenge otherwise.</summary>
    private sealed class ChallengeThenReceiptHandler : HttpMessageHandler
    {
        private const string ChallengeId = "bench-challenge-id-0123456789abcdefghijklmnop";
        private readonly string _challenge = PaymentChallenge.Create(
            ChallengeId, "api.example.com", "bench", "charge", JsonDocument.Parse("""{"amount":"1","currency":"xts","recipient":"merchant"}""").RootElement, "2099-01-01T00:00:00.000Z").ToHeaderValue();

        private readonly string _receipt = PaymentReceipt.FromJson(JsonDocument.Parse($$"""{"method":"bench","status":"success","timestamp":"2026-12-01T00:00:00.000Z","reference":"ref-1","challengeId":"{{ChallengeId}}"}""").RootElement).ToHeaderValue();

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (request.Headers.Contains("Authorization"))
            {
                var ok = new HttpResponseMessage(HttpStatusCode.OK);
                ok.Headers.TryAddWithoutValidation("Payment-Receipt", _receipt);
                return Task.FromResult(ok);
            }

            var response = new HttpResponseMessage(HttpStatusCode.PaymentRequired);
            response.Headers.TryAddWithoutValidation("WWW-Authenticate", _challenge);
            return Task.FromResult(response);
        }
    }
}

/// <summary>
/// The floor under any SQLite store on this machine: one row inserted in a transaction of its own, on a file with the same
/// settings (WAL, synchronous=NORMAL), through Microsoft.Data.Sqlite with a prepared statement. The store figures above are
/// best read in units of this one (the machines are shared: the floor moves with their load).
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class SqliteFloorBenchmarks
{
    private Microsoft.Data.Sqlite.SqliteConnection _connection = null!;
    private Microsoft.Data.Sqlite.SqliteCommand _insert = null!;
    private string _directory = null!;

    [GlobalSetup]
    public void Setup()
    {
        _directory = Path.Combine(Path.GetTempPath(), "mpp-bench-" + Guid.NewGuid().ToString("N"));
        MppSqliteDatabase.Open(new SqliteStoreOptions { Path = Path.Combine(_directory, "mpp.db") }).Dispose(); // the native library, WAL
        _connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(_directory, "mpp.db")};Pooling=False");
        _connection.Open();
        using (var setup = _connection.CreateCommand())
        {
            setup.CommandText = "PRAGMA synchronous = NORMAL; CREATE TABLE floor (id INTEGER PRIMARY KEY, value TEXT NOT NULL);";
            setup.ExecuteNonQuery();
        }

        _insert = _connection.CreateCommand();
        _insert.CommandText = "INSERT INTO floor (value) VALUES ('x')";
        _insert.Prepare();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _insert.Dispose();
        _connection.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    [Benchmark(Description = "SQLite floor: one INSERT in its own transaction")]
    public int BareCommit() => _insert.ExecuteNonQuery();
}
