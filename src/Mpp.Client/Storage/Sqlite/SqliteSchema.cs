namespace Mpp.Client;

/// <summary>
/// The schema of an MppClient SQLite file, as numbered migrations. A file is MppClient's when <c>mpp_schema</c> says so;
/// each migration runs once, in a write transaction that also records the new version, so a crash mid-way leaves the file at
/// the previous version and the next start runs the migration again.
/// </summary>
internal static class SqliteSchema
{
    public const string Product = "MppClient";

    /// <summary>The tables this version needs; a file at the current version without one of them is damaged.</summary>
    public static readonly string[] Tables = ["mpp_schema", "mpp_imports", "ledger_entries", "ledger_totals", "ledger_minutes", "journal", "receipts", "channels"];

    /// <summary>Migration <c>i</c> brings the file from version <c>i</c> to <c>i + 1</c>.</summary>
    public static readonly string[] Migrations =
    [
        """
        CREATE TABLE mpp_imports (source TEXT PRIMARY KEY, imported_at TEXT NOT NULL, detail TEXT NOT NULL);

        -- Ledger: one row per live reservation (state 0 reserved, 1 committed, 2 unknown; a release deletes the row).
        CREATE TABLE ledger_entries (
            id TEXT PRIMARY KEY, scope TEXT NOT NULL, asset TEXT NOT NULL, host TEXT NOT NULL,
            amount INTEGER NOT NULL, at_ms INTEGER NOT NULL, state INTEGER NOT NULL, reference TEXT NOT NULL, owner TEXT NOT NULL) WITHOUT ROWID;
        CREATE INDEX ledger_entries_window ON ledger_entries (scope, asset, at_ms, amount);

        -- Running totals per scope, asset and host, kept by the triggers below (so the limit checks cost no scan of history).
        CREATE TABLE ledger_totals (
            scope TEXT NOT NULL, asset TEXT NOT NULL, host TEXT NOT NULL,
            reserved INTEGER NOT NULL DEFAULT 0, committed INTEGER NOT NULL DEFAULT 0, unknown INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (scope, asset, host)) WITHOUT ROWID;
        -- Spending per minute (every state counts), so a rolling window sums minutes, not entries.
        CREATE TABLE ledger_minutes (
            scope TEXT NOT NULL, asset TEXT NOT NULL, minute INTEGER NOT NULL, amount INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (scope, asset, minute)) WITHOUT ROWID;
        CREATE TRIGGER ledger_entries_insert AFTER INSERT ON ledger_entries BEGIN
            INSERT OR IGNORE INTO ledger_minutes (scope, asset, minute) VALUES (NEW.scope, NEW.asset, NEW.at_ms / 60000);
            UPDATE ledger_minutes SET amount = amount + NEW.amount WHERE scope = NEW.scope AND asset = NEW.asset AND minute = NEW.at_ms / 60000;
            INSERT OR IGNORE INTO ledger_totals (scope, asset, host) VALUES (NEW.scope, NEW.asset, NEW.host);
            UPDATE ledger_totals SET
                reserved = reserved + (CASE NEW.state WHEN 0 THEN NEW.amount ELSE 0 END),
                committed = committed + (CASE NEW.state WHEN 1 THEN NEW.amount ELSE 0 END),
                unknown = unknown + (CASE NEW.state WHEN 2 THEN NEW.amount ELSE 0 END)
            WHERE scope = NEW.scope AND asset = NEW.asset AND host = NEW.host;
        END;
        CREATE TRIGGER ledger_entries_amount AFTER UPDATE OF amount ON ledger_entries WHEN NEW.amount <> OLD.amount BEGIN
            UPDATE ledger_minutes SET amount = amount + NEW.amount - OLD.amount WHERE scope = NEW.scope AND asset = NEW.asset AND minute = NEW.at_ms / 60000;
        END;
        CREATE TRIGGER ledger_entries_update AFTER UPDATE OF state, amount ON ledger_entries BEGIN
            UPDATE ledger_totals SET
                reserved = reserved + (CASE NEW.state WHEN 0 THEN NEW.amount ELSE 0 END) - (CASE OLD.state WHEN 0 THEN OLD.amount ELSE 0 END),
                committed = committed + (CASE NEW.state WHEN 1 THEN NEW.amount ELSE 0 END) - (CASE OLD.state WHEN 1 THEN OLD.amount ELSE 0 END),
                unknown = unknown + (CASE NEW.state WHEN 2 THEN NEW.amount ELSE 0 END) - (CASE OLD.state WHEN 2 THEN OLD.amount ELSE 0 END)
            WHERE scope = NEW.scope AND asset = NEW.asset AND host = NEW.host;
        END;
        CREATE TRIGGER ledger_entries_delete AFTER DELETE ON ledger_entries BEGIN
            UPDATE ledger_minutes SET amount = amount - OLD.amount WHERE scope = OLD.scope AND asset = OLD.asset AND minute = OLD.at_ms / 60000;
            UPDATE ledger_totals SET
                reserved = reserved - (CASE OLD.state WHEN 0 THEN OLD.amount ELSE 0 END),
                committed = committed - (CASE OLD.state WHEN 1 THEN OLD.amount ELSE 0 END),
                unknown = unknown - (CASE OLD.state WHEN 2 THEN OLD.amount ELSE 0 END)
            WHERE scope = OLD.scope AND asset = OLD.asset AND host = OLD.host;
        END;

        -- Journal (state 0 pending, 1 settled, 2 rejected, 3 unknown) and receipts, in the order they were written.
        CREATE TABLE journal (
            seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, created_at TEXT NOT NULL, client_name TEXT NOT NULL,
            origin TEXT NOT NULL, path TEXT NOT NULL, challenge_id TEXT NOT NULL, method TEXT NOT NULL, intent TEXT NOT NULL,
            asset TEXT NOT NULL, amount TEXT NOT NULL, credential_digest TEXT NOT NULL, state INTEGER NOT NULL, reference TEXT,
            updated_at TEXT);
        CREATE TABLE receipts (
            seq INTEGER PRIMARY KEY, recorded_at TEXT NOT NULL, client_name TEXT NOT NULL, origin TEXT NOT NULL,
            path TEXT NOT NULL, challenge_id TEXT NOT NULL, method TEXT NOT NULL, intent TEXT NOT NULL, asset TEXT NOT NULL,
            amount TEXT NOT NULL, reference TEXT NOT NULL, receipt_json TEXT NOT NULL);

        -- Session channels: the whole record as JSON, the voucher high-water mark as a 40-digit zero-padded decimal (so it
        -- compares as text), the lease (who may sign on the channel, until when) and the process waiting for it next.
        CREATE TABLE channels (
            channel_id TEXT PRIMARY KEY, payer TEXT NOT NULL, state TEXT NOT NULL, highest_signed TEXT NOT NULL,
            record TEXT NOT NULL, lease_owner TEXT, lease_expires_ms INTEGER NOT NULL DEFAULT 0,
            lease_wanted_by TEXT, lease_wanted_ms INTEGER NOT NULL DEFAULT 0, updated_ms INTEGER NOT NULL) WITHOUT ROWID;
        """,
    ];

    public static int CurrentVersion => Migrations.Length;
}
