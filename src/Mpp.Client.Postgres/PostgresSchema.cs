namespace Mpp.Client.Postgres;

/// <summary>
/// The schema of MppClient's PostgreSQL tables, as numbered migrations (<c>{0}</c> is the schema name). Each runs once, in
/// a transaction holding an advisory lock, together with the update of <c>mpp_schema</c>: hosts starting at the same time
/// migrate one after the other, and a failed migration leaves the previous version.
/// </summary>
internal static class PostgresSchema
{
    public const string Product = "MppClient";

    public static readonly string[] Tables = ["mpp_schema", "ledger_entries", "ledger_totals", "ledger_minutes", "journal", "receipts", "channels"];

    public static readonly string[] Migrations =
    [
        """
        CREATE TABLE {0}.ledger_entries (
            id uuid PRIMARY KEY, scope text NOT NULL, asset text NOT NULL, host text NOT NULL, amount numeric(78,0) NOT NULL,
            at_ms bigint NOT NULL, state smallint NOT NULL, reference text NOT NULL, owner text NOT NULL);
        CREATE INDEX ledger_entries_window ON {0}.ledger_entries (scope, asset, at_ms) INCLUDE (amount);
        CREATE INDEX ledger_entries_reserved ON {0}.ledger_entries (owner) WHERE state = 0;
        CREATE TABLE {0}.ledger_totals (
            scope text NOT NULL, asset text NOT NULL, host text NOT NULL,
            reserved numeric(78,0) NOT NULL DEFAULT 0, committed numeric(78,0) NOT NULL DEFAULT 0, unknown numeric(78,0) NOT NULL DEFAULT 0,
            PRIMARY KEY (scope, asset, host));
        CREATE TABLE {0}.ledger_minutes (
            scope text NOT NULL, asset text NOT NULL, minute bigint NOT NULL, amount numeric(78,0) NOT NULL DEFAULT 0,
            PRIMARY KEY (scope, asset, minute));
        CREATE FUNCTION {0}.ledger_entries_totals() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND NEW.amount <> OLD.amount) THEN
                UPDATE {0}.ledger_minutes SET amount = amount - OLD.amount WHERE scope = OLD.scope AND asset = OLD.asset AND minute = OLD.at_ms / 60000;
            END IF;
            IF TG_OP IN ('UPDATE', 'DELETE') THEN
                UPDATE {0}.ledger_totals SET
                    reserved = reserved - (CASE WHEN OLD.state = 0 THEN OLD.amount ELSE 0 END),
                    committed = committed - (CASE WHEN OLD.state = 1 THEN OLD.amount ELSE 0 END),
                    unknown = unknown - (CASE WHEN OLD.state = 2 THEN OLD.amount ELSE 0 END)
                WHERE scope = OLD.scope AND asset = OLD.asset AND host = OLD.host;
            END IF;
            IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.amount <> OLD.amount) THEN
                INSERT INTO {0}.ledger_minutes (scope, asset, minute, amount) VALUES (NEW.scope, NEW.asset, NEW.at_ms / 60000, NEW.amount)
                    ON CONFLICT (scope, asset, minute) DO UPDATE SET amount = {0}.ledger_minutes.amount + EXCLUDED.amount;
            END IF;
            IF TG_OP IN ('INSERT', 'UPDATE') THEN
                INSERT INTO {0}.ledger_totals (scope, asset, host) VALUES (NEW.scope, NEW.asset, NEW.host) ON CONFLICT DO NOTHING;
                UPDATE {0}.ledger_totals SET
                    reserved = reserved + (CASE WHEN NEW.state = 0 THEN NEW.amount ELSE 0 END),
                    committed = committed + (CASE WHEN NEW.state = 1 THEN NEW.amount ELSE 0 END),
                    unknown = unknown + (CASE WHEN NEW.state = 2 THEN NEW.amount ELSE 0 END)
                WHERE scope = NEW.scope AND asset = NEW.asset AND host = NEW.host;
            END IF;
            RETURN NULL;
        END $$;
        CREATE TRIGGER ledger_entries_totals AFTER INSERT OR DELETE OR UPDATE OF state, amount ON {0}.ledger_entries
            FOR EACH ROW EXECUTE FUNCTION {0}.ledger_entries_totals();

        CREATE TABLE {0}.journal (
            seq bigserial PRIMARY KEY, id uuid NOT NULL UNIQUE, created_at timestamptz NOT NULL, client_name text NOT NULL,
            origin text NOT NULL, path text NOT NULL, challenge_id text NOT NULL, method text NOT NULL, intent text NOT NULL,
            asset text NOT NULL, amount text NOT NULL, credential_digest text NOT NULL, state smallint NOT NULL, reference text,
            updated_at timestamptz);
        CREATE TABLE {0}.receipts (
            seq bigserial PRIMARY KEY, recorded_at timestamptz NOT NULL, client_name text NOT NULL, origin text NOT NULL,
            path text NOT NULL, challenge_id text NOT NULL, method text NOT NULL, intent text NOT NULL, asset text NOT NULL,
            amount text NOT NULL, reference text NOT NULL, receipt_json text NOT NULL);

        CREATE TABLE {0}.channels (
            channel_id text PRIMARY KEY, payer text NOT NULL, state text NOT NULL, highest_signed numeric(78,0) NOT NULL,
            record jsonb NOT NULL, lease_owner text, lease_expires timestamptz NOT NULL DEFAULT '-infinity',
            lease_wanted_by text, lease_wanted_at timestamptz NOT NULL DEFAULT '-infinity', updated_at timestamptz NOT NULL);
        """,
    ];

    public static int CurrentVersion => Migrations.Length;
}
