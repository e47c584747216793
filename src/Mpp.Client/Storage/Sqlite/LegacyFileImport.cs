using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Mpp.Client;

/// <summary>
/// The one-time import of the file stores earlier versions wrote (<c>ledger.json</c>, <c>journal.jsonl</c>,
/// <c>receipts.jsonl</c> in one folder) into an SQLite database, inside the caller's transaction and recorded in
/// <c>mpp_imports</c>, so it happens exactly once per folder. The files are read, never changed.
/// </summary>
internal static class LegacyFileImport
{
    public const string LedgerFile = "ledger.json";
    public const string JournalFile = "journal.jsonl";
    public const string ReceiptsFile = "receipts.jsonl";

    public static void Import(SqliteSession session, string folder, string now)
    {
        // Once per database, whatever the folder is called later (the home may move with its database).
        const string source = "files";
        if (session.Scalar("SELECT count(*) FROM mpp_imports WHERE source = @p0", source) > 0)
        {
            return;
        }

        var ledger = ImportLedger(session, Path.Combine(folder, LedgerFile));
        var journal = ImportJournal(session, Path.Combine(folder, JournalFile));
        var receipts = ImportReceipts(session, Path.Combine(folder, ReceiptsFile));
        session.Execute(
            "INSERT INTO mpp_imports (source, imported_at, detail) VALUES (@p0, @p1, @p2)",
            source,
            now,
            $"{folder}: {ledger} ledger entries, {journal} journal entries, {receipts} receipts");
    }

    private static int ImportLedger(SqliteSession session, string path)
    {
        if (!File.Exists(path))
        {
            return 0;
        }

        var count = 0;
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(path));
            var root = document.RootElement;
            foreach (var e in root.GetProperty("entries").EnumerateArray())
            {
                var state = Enum.Parse<LedgerEntryState>(e.GetProperty("state").GetString()!);
                if (state == LedgerEntryState.Released)
                {
                    continue;
                }

                count += session.Execute(
                    "INSERT OR IGNORE INTO ledger_entries (id, scope, asset, host, amount, at_ms, state, reference, owner) VALUES (@p0, @p1, @p2, @p3, @p4, @p5, @p6, 'imported', 'imported')",
                    e.GetProperty("id").GetGuid().ToString("D"),
                    e.GetProperty("scope").GetString()!,
                    e.GetProperty("asset").GetString()!,
                    e.GetProperty("host").GetString()!,
                    SqliteSpendLedger.ToStored(Units(e, "amount")),
                    e.GetProperty("at").GetInt64(),
                    SqliteSpendLedger.StateCode(state));
            }

            foreach (var f in root.GetProperty("folded").EnumerateArray())
            {
                // Spending older than every window: only its running total matters.
                var (scope, asset, host) = (f.GetProperty("scope").GetString()!, f.GetProperty("asset").GetString()!, f.GetProperty("host").GetString()!);
                session.Execute("INSERT OR IGNORE INTO ledger_totals (scope, asset, host) VALUES (@p0, @p1, @p2)", scope, asset, host);
                session.Execute("UPDATE ledger_totals SET committed = committed + @p3 WHERE scope = @p0 AND asset = @p1 AND host = @p2", scope, asset, host, SqliteSpendLedger.ToStored(Units(f, "amount")));
                count++;
            }
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or FormatException or ArgumentException or OverflowException)
        {
            throw new PaymentStoreException($"The earlier ledger file '{path}' cannot be imported ({ex.GetType().Name}: {ex.Message}); nothing was imported. Fix or move it, then start again.", ex);
        }

        return count;
    }

    private static int ImportJournal(SqliteSession session, string path)
    {
        var entries = new List<JournalEntry>();
        var index = new Dictionary<Guid, int>();
        foreach (var line in ReadLines(path))
        {
            using var document = JsonDocument.Parse(line);
            if (document.RootElement.TryGetProperty("ChallengeId", out _))
            {
                var entry = document.RootElement.Deserialize(LegacyJsonContext.Default.JournalEntry)!;
                index[entry.Id] = entries.Count;
                entries.Add(entry);
            }
            else
            {
                var update = document.RootElement.Deserialize(LegacyJsonContext.Default.LegacyJournalUpdate)!;
                if (index.TryGetValue(update.Id, out var i))
                {
                    entries[i] = entries[i] with { State = update.State, Reference = update.Reference ?? entries[i].Reference };
                }
            }
        }

        foreach (var entry in entries)
        {
            SqlitePaymentJournal.Insert(session, entry);
        }

        return entries.Count;
    }

    private static int ImportReceipts(SqliteSession session, string path)
    {
        var count = 0;
        foreach (var line in ReadLines(path))
        {
            SqliteReceiptStore.Insert(session, JsonSerializer.Deserialize(line, LegacyJsonContext.Default.StoredReceipt)!);
            count++;
        }

        return count;
    }

    private static IEnumerable<string> ReadLines(string path)
    {
        if (!File.Exists(path))
        {
            return [];
        }

        // A torn last line (a crash mid-append) was never acknowledged: skipped, as the JSON-lines stores did.
        return File.ReadAllText(path, Encoding.UTF8).Split('\n').Where(line => line.Length > 0 && line.EndsWith('}'));
    }

    private static BigInteger Units(JsonElement element, string name) => BigInteger.Parse(element.GetProperty(name).GetString()!, NumberStyles.None, CultureInfo.InvariantCulture);
}

internal sealed record LegacyJournalUpdate(Guid Id, JournalState State, string? Reference, DateTimeOffset UpdatedAt);

[JsonSerializable(typeof(StoredReceipt))]
[JsonSerializable(typeof(JournalEntry))]
[JsonSerializable(typeof(LegacyJournalUpdate))]
[JsonSourceGenerationOptions(UseStringEnumConverter = true)]
internal sealed partial class LegacyJsonContext : JsonSerializerContext;
