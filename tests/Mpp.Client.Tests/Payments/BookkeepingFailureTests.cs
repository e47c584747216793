using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Mpp.Client.Protocol;
using RichardSzalay.MockHttp;

namespace Mpp.Client.Tests.Payments;

/// <summary>
/// Once money moved, a failing store (journal, receipts) is logged and never changes the call's outcome nor keeps the
/// payment method from hearing it, exactly once (a session method holds its channel until then).
/// </summary>
public sealed class BookkeepingFailureTests
{
    private const string Url = "https://api.example.com/paid";

    private static MockHttpMessageHandler Server(Func<HttpRequestMessage, HttpResponseMessage>? paid = null)
    {
        var mock = new MockHttpMessageHandler();
        mock.When(Url).With(r => !Answers.HasCredential(r)).Respond(_ => Answers.PaymentRequired(Answers.Challenge()));
        mock.When(Url).With(Answers.HasCredential).Respond(r => paid?.Invoke(r) ?? Answers.Paid(PaymentCredential.Parse(r.Headers.GetValues("Authorization").First()).Challenge));
        return mock;
    }

    [Test]
    public async Task A_failing_receipt_store_after_a_paid_2xx_still_returns_the_paid_answer_and_tells_the_method_once()
    {
        using var harness = PaymentHarness.Create(primary: Server(), mpp: b => b.Services.AddSingleton<IReceiptStore>(new FailingReceiptStore()));

        using var response = await harness.Client.GetAsync(Url);

        Assert.Multiple(async () =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(response.GetPaymentDetails()?.IsPaid, Is.True);
            Assert.That(harness.Method.Settlements.Select(s => s.Outcome), Is.EqualTo(new[] { PaymentOutcome.Settled }));
            Assert.That((await harness.Journal.GetAllAsync(CancellationToken.None)).Single().State, Is.EqualTo(JournalState.Settled));
            Assert.That((await harness.SpentAsync()).Committed, Is.EqualTo(new System.Numerics.BigInteger(100)));
            Assert.That(harness.Logs.Lines, Has.Some.Contains("BookkeepingFailed"));
            Assert.That(harness.Logs.Lines.Any(l => harness.Method.Proofs.Any(l.Contains)), Is.False, "no credential in the log");
        });
    }

    [Test]
    public async Task A_failing_journal_after_a_paid_2xx_still_stores_the_receipt_returns_the_paid_answer_and_tells_the_method_once()
    {
        using var harness = PaymentHarness.Create(primary: Server(), mpp: b => b.Services.AddSingleton<IPaymentJournal>(new FailingJournal()));

        using var response = await harness.Client.GetAsync(Url);

        Assert.Multiple(async () =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(response.GetPaymentDetails()?.IsPaid, Is.True);
            Assert.That(harness.Method.Settlements.Select(s => s.Outcome), Is.EqualTo(new[] { PaymentOutcome.Settled }));
            Assert.That(await harness.Receipts.GetAllAsync(CancellationToken.None), Has.Count.EqualTo(1));
            Assert.That((await harness.SpentAsync()).Committed, Is.EqualTo(new System.Numerics.BigInteger(100)));
        });
    }

    [Test]
    public async Task A_failing_journal_after_an_unexpected_status_still_tells_the_method_once_and_returns_the_answer()
    {
        using var harness = PaymentHarness.Create(primary: Server(_ => new HttpResponseMessage(HttpStatusCode.BadGateway)), mpp: b => b.Services.AddSingleton<IPaymentJournal>(new FailingJournal()));

        using var response = await harness.Client.GetAsync(Url);

        Assert.Multiple(async () =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadGateway));
            Assert.That(response.GetPaymentDetails()?.Outcome, Is.EqualTo(PaymentOutcome.Unknown));
            Assert.That(harness.Method.Settlements.Select(s => s.Outcome), Is.EqualTo(new[] { PaymentOutcome.Unknown }));
            Assert.That((await harness.SpentAsync()).Unknown, Is.EqualTo(new System.Numerics.BigInteger(100)));
        });
    }

    [Test]
    public async Task A_failing_journal_after_a_refused_credential_still_tells_the_method_once_and_raises_the_typed_rejection()
    {
        using var harness = PaymentHarness.Create(
            primary: Server(_ => Answers.PaymentRequired(PaymentProblemTypes.PaymentInsufficient, Answers.Challenge())),
            mpp: b => b.Services.AddSingleton<IPaymentJournal>(new FailingJournal()));

        Assert.ThrowsAsync<PaymentRejectedException>(() => harness.Client.GetAsync(Url));

        Assert.That(harness.Method.Settlements.Select(s => s.Outcome), Is.EqualTo(new[] { PaymentOutcome.Rejected }));
    }

    [Test]
    public async Task A_failing_journal_when_no_answer_was_read_still_tells_the_method_and_raises_the_unknown_outcome()
    {
        using var harness = PaymentHarness.Create(
            primary: Server(_ => throw new HttpRequestException("connection reset")),
            mpp: b => b.Services.AddSingleton<IPaymentJournal>(new FailingJournal()));

        Assert.ThrowsAsync<PaymentOutcomeUnknownException>(() => harness.Client.GetAsync(Url));

        Assert.That(harness.Method.Settlements.Select(s => s.Outcome), Is.EqualTo(new[] { PaymentOutcome.Unknown }));
        Assert.That((await harness.SpentAsync()).Unknown, Is.EqualTo(new System.Numerics.BigInteger(100)));
    }

    [Test]
    public async Task A_failing_receipt_store_after_a_prepaid_2xx_still_returns_the_paid_answer_and_tells_the_method_once()
    {
        var prepayer = new Prepayer();
        var mock = new MockHttpMessageHandler();
        mock.When(Url).With(Answers.HasCredential).Respond(r => Answers.Paid(PaymentCredential.Parse(r.Headers.GetValues("Authorization").First()).Challenge));
        using var harness = PaymentHarness.Create(primary: mock, mpp: b => b.AddMethod(prepayer).Services.AddSingleton<IReceiptStore>(new FailingReceiptStore()));

        using var response = await harness.Client.GetAsync(Url);

        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(response.GetPaymentDetails()?.IsPaid, Is.True);
            Assert.That(prepayer.Settlements, Is.EqualTo(new[] { PaymentOutcome.Settled }));
        });
    }

    [Test]
    public async Task On_SQLite_an_outcome_transaction_that_fails_is_written_step_by_step_and_the_method_is_told_once()
    {
        // The ledger commit, journal outcome and receipt share one SQLite transaction; a receipt the file refuses rolls all
        // three back, and each is then written on its own: the commit and the journal outcome still land.
        var path = Path.Combine(Path.GetTempPath(), "mpp-test-" + Guid.NewGuid().ToString("N"), "mpp.db");
        MppSqliteDatabase.Open(new SqliteStoreOptions { Path = path }).Dispose();
        using (var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={path};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "CREATE TRIGGER refuse_receipts BEFORE INSERT ON receipts BEGIN SELECT RAISE(ABORT, 'receipts refused by the test'); END;";
            command.ExecuteNonQuery();
        }

        using var harness = PaymentHarness.Create(primary: Server(), mpp: b => b.UseSqlite(path));

        using var response = await harness.Client.GetAsync(Url);

        Assert.Multiple(async () =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(response.GetPaymentDetails()?.IsPaid, Is.True);
            Assert.That(harness.Method.Settlements.Select(s => s.Outcome), Is.EqualTo(new[] { PaymentOutcome.Settled }));
            Assert.That((await harness.Journal.GetAllAsync(CancellationToken.None)).Single().State, Is.EqualTo(JournalState.Settled));
            Assert.That((await harness.SpentAsync()).Committed, Is.EqualTo(new System.Numerics.BigInteger(100)));
            Assert.That(await harness.Receipts.GetAllAsync(CancellationToken.None), Is.Empty);
            Assert.That(harness.Logs.Lines, Has.Some.Contains("OutcomeBatchFailed"));
            Assert.That(harness.Logs.Lines, Has.Some.Contains("BookkeepingFailed"));
        });
    }

    /// <summary>A prepaying method (as a session with a cached challenge is): the credential rides on the first request.</summary>
    private sealed class Prepayer : IPrepayingPaymentMethod
    {
        private readonly TestChargeMethod _inner = new();
        private readonly PaymentChallenge _challenge = Answers.Challenge();

        public List<PaymentOutcome> Settlements { get; } = [];

        public string Method => "test";

        public bool CanPay(PaymentChallenge challenge) => false;

        public ValueTask<PaymentQuote> QuoteAsync(PaymentChallenge challenge, PaymentContext context, CancellationToken cancellationToken) => _inner.QuoteAsync(challenge, context, cancellationToken);

        public async ValueTask<PaymentQuote?> TryPrepayAsync(PaymentContext context, CancellationToken cancellationToken)
        {
            var quote = await _inner.QuoteAsync(_challenge, context, cancellationToken);
            return new PaymentQuote(_challenge, quote.Amount, quote.Recipients, prefunded: true);
        }

        public ValueTask<PaymentCredential> CreateCredentialAsync(PaymentQuote quote, PaymentContext context, CancellationToken cancellationToken)
        {
            using var payload = JsonDocument.Parse("""{"proof":"prepaid"}""");
            return ValueTask.FromResult(new PaymentCredential(quote.Challenge, payload.RootElement.Clone()));
        }

        public ValueTask OnSettledAsync(PaymentSettlement settlement, CancellationToken cancellationToken)
        {
            Settlements.Add(settlement.Outcome);
            return ValueTask.CompletedTask;
        }
    }
}

/// <summary>A receipt store whose disk is full.</summary>
internal sealed class FailingReceiptStore : IReceiptStore
{
    public ValueTask AddAsync(StoredReceipt receipt, CancellationToken cancellationToken) => throw new IOException("disk full");

    public ValueTask<IReadOnlyList<StoredReceipt>> GetAllAsync(CancellationToken cancellationToken) => ValueTask.FromResult<IReadOnlyList<StoredReceipt>>([]);
}

/// <summary>A journal that records the pending entry but fails every later update.</summary>
internal sealed class FailingJournal : IPaymentJournal
{
    private readonly InMemoryPaymentJournal _inner = new();

    public ValueTask RecordAsync(JournalEntry entry, CancellationToken cancellationToken) => _inner.RecordAsync(entry, cancellationToken);

    public ValueTask UpdateAsync(Guid id, JournalState state, string? reference, CancellationToken cancellationToken) => throw new IOException("disk full");

    public ValueTask<IReadOnlyList<JournalEntry>> GetAllAsync(CancellationToken cancellationToken) => _inner.GetAllAsync(cancellationToken);
}
