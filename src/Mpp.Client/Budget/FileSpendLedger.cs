using System.Globalization;
using System.Numerics;
using System.Text.Json;
using Mpp.Client.Protocol;

namespace Mpp.Client;

/// <summary>
/// A durable spend ledger in one JSON file, safe across threads and across processes on one machine: every
/// operation takes a lock file, reads the state, checks and changes it, and replaces the file atomically.
/// A crash never loses a reservation that was granted, so limits hold across restarts.
/// </summary>
public sealed class FileSpendLedger : ISpendLedger, IDisposable
{
    private static readonly TimeSpan LockTimeout = TimeSpan.FromSeconds(30);
    private readonly string _path;
    private readonly string _lockPath;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _gate = new(1, 1);

    /// <summary>Initializes a ledger stored at <paramref name="path"/>; the folder is created when missing.</summary>
    /// <param name="path">The ledger file. A <c>.lock</c> file is kept beside it.</param>
    /// <param name="timeProvider">The clock for reservations and rolling windows.</param>
    public FileSpendLedger(string path, TimeProvider timeProvider)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(timeProvider);
        _path = Path.GetFullPath(path);
        _lockPath = _path + ".lock";
        _time = timeProvider;
        Directory.CreateDirectory(Path.GetDirectoryName(_path)!);
    }

    /// <summary>Gets the ledger file's full path.</summary>
    public string FilePath => _path;

    /// <inheritdoc />
    public async ValueTask<ReservationResult> TryReserveAsync(SpendRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ReservationResult result = default;
        await UpdateAsync(book =>
        {
            var now = _time.GetUtcNow();
            book.Compact(now);
            result = book.TryReserve(request, now);
            return result.Succeeded;
        }, cancellationToken).ConfigureAwait(false);
        return result;
    }

    /// <inheritdoc />
    public ValueTask CommitAsync(SpendReservation reservation, CancellationToken cancellationToken) => SetAsync(reservation, LedgerEntryState.Committed, cancellationToken);

    /// <inheritdoc />
    public ValueTask CommitPartAsync(SpendReservation reservation, System.Numerics.BigInteger spentUnits, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reservation);
        return UpdateAsync(book =>
        {
            book.CommitPart(reservation.Id, spentUnits);
            return true;
        }, cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask ReleaseAsync(SpendReservation reservation, CancellationToken cancellationToken) => SetAsync(reservation, LedgerEntryState.Released, cancellationToken);

    /// <inheritdoc />
    public ValueTask MarkUnknownAsync(SpendReservation reservation, CancellationToken cancellationToken) => SetAsync(reservation, LedgerEntryState.Unknown, cancellationToken);

    /// <inheritdoc />
    public async ValueTask<SpendSummary> GetSummaryAsync(string scope, AssetId asset, CancellationToken cancellationToken)
    {
        SpendSummary? summary = null;
        await UpdateAsync(book =>
        {
            summary = book.Summary(scope, asset);
            return false;
        }, cancellationToken).ConfigureAwait(false);
        return summary!;
    }

    /// <summary>Releases the in-process gate.</summary>
    public void Dispose() => _gate.Dispose();

    private ValueTask SetAsync(SpendReservation reservation, LedgerEntryState state, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reservation);
        return UpdateAsync(book =>
        {
            book.SetState(reservation.Id, state);
            return true;
        }, cancellationToken);
    }

    /// <summary>Runs <paramref name="change"/> on the current state under both locks; writes it back when it returns true.</summary>
    private async ValueTask UpdateAsync(Func<LedgerBook, bool> change, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var fileLock = await FileLock.AcquireAsync(_lockPath, _time, LockTimeout, cancellationToken).ConfigureAwait(false);
            var book = Read();
            if (change(book))
            {
                FileLock.WriteAtomically(_path, Serialize(book));
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    private LedgerBook Read()
    {
        var book = new LedgerBook();
        if (!File.Exists(_path))
        {
            return book;
        }

        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(_path));
            var root = document.RootElement;
            var entries = new List<LedgerEntry>();
            foreach (var e in root.GetProperty("entries").EnumerateArray())
            {
                entries.Add(new LedgerEntry(
                    e.GetProperty("id").GetGuid(),
                    e.GetProperty("scope").GetString()!,
                    e.GetProperty("asset").GetString()!,
                    e.GetProperty("host").GetString()!,
                    BigInteger.Parse(e.GetProperty("amount").GetString()!, NumberStyles.None, CultureInfo.InvariantCulture),
                    e.GetProperty("at").GetInt64(),
                    Enum.Parse<LedgerEntryState>(e.GetProperty("state").GetString()!)));
            }

            var folded = new List<KeyValuePair<(string, string, string), BigInteger>>();
            foreach (var f in root.GetProperty("folded").EnumerateArray())
            {
                folded.Add(new((f.GetProperty("scope").GetString()!, f.GetProperty("asset").GetString()!, f.GetProperty("host").GetString()!),
                    BigInteger.Parse(f.GetProperty("amount").GetString()!, NumberStyles.None, CultureInfo.InvariantCulture)));
            }

            book.Load(entries, folded);
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or FormatException or ArgumentException)
        {
            // Never guess at a damaged budget: refusing to pay is safe, spending against a reset ledger is not.
            throw new PaymentConfigurationException($"The spend ledger '{_path}' is damaged ({ex.GetType().Name}: {ex.Message}); fix or move it before paying again.");
        }

        return book;
    }

    private static byte[] Serialize(LedgerBook book)
    {
        using var buffer = new PooledBufferWriter(4096);
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = false }))
        {
            writer.WriteStartObject();
            writer.WriteNumber("version", 1);
            writer.WriteStartArray("entries");
            foreach (var e in book.Entries.Values)
            {
                writer.WriteStartObject();
                writer.WriteString("id", e.Id);
                writer.WriteString("scope", e.Scope);
                writer.WriteString("asset", e.Asset);
                writer.WriteString("host", e.Host);
                writer.WriteString("amount", e.Amount.ToString(CultureInfo.InvariantCulture));
                writer.WriteNumber("at", e.AtUnixMs);
                writer.WriteString("state", e.State.ToString());
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteStartArray("folded");
            foreach (var ((scope, asset, host), amount) in book.Folded)
            {
                writer.WriteStartObject();
                writer.WriteString("scope", scope);
                writer.WriteString("asset", asset);
                writer.WriteString("host", host);
                writer.WriteString("amount", amount.ToString(CultureInfo.InvariantCulture));
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }
}
