namespace Mpp.Client;

/// <summary>Where and how the SQLite store keeps the budget ledger, the payment journal, the receipts and session channels.</summary>
public sealed class SqliteStoreOptions
{
    /// <summary>Gets or sets the database file (created, with its folder, when missing). Required.</summary>
    public string Path { get; set; } = string.Empty;

    /// <summary>
    /// Gets or sets whether every transaction is flushed to the disk before it returns (<c>synchronous=FULL</c>), so it
    /// survives a power cut or an operating-system crash, at the cost of one fsync per write (a few hundred µs). Off by default
    /// (<c>synchronous=NORMAL</c> in WAL mode): a killed or crashed process loses nothing, and the file is never corrupted.
    /// </summary>
    public bool FlushToDisk { get; set; }

    /// <summary>Gets or sets how long a write waits for another process's transaction before failing.</summary>
    /// <value>The default is 30 seconds.</value>
    public TimeSpan BusyTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Gets or sets a folder holding the file stores of earlier versions (<c>ledger.json</c>, <c>journal.jsonl</c>,
    /// <c>receipts.jsonl</c>, <c>channels/</c>): their content is imported into the database once, on the first open, and the
    /// files are left where they are. <see langword="null"/> imports nothing.
    /// </summary>
    public string? ImportFrom { get; set; }
}
