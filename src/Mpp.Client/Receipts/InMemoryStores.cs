namespace Mpp.Client;

/// <summary>The most recent receipts, held in memory (the oldest are dropped past <see cref="Capacity"/>; use the SQLite store, <c>UseSqlite</c>, for a full history).</summary>
public sealed class InMemoryReceiptStore : IReceiptStore
{
    /// <summary>The most receipts kept.</summary>
    public const int Capacity = 10_000;

    private readonly Queue<StoredReceipt> _receipts = new();
    private readonly object _gate = new();

    /// <inheritdoc />
    public ValueTask AddAsync(StoredReceipt receipt, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(receipt);
        lock (_gate)
        {
            _receipts.Enqueue(receipt);
            if (_receipts.Count > Capacity)
            {
                _receipts.Dequeue();
            }
        }

        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<StoredReceipt>> GetAllAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return ValueTask.FromResult<IReadOnlyList<StoredReceipt>>([.. _receipts]);
        }
    }
}

/// <summary>
/// A payment journal held in memory. Pending and unknown entries are always kept; settled and rejected ones
/// beyond <see cref="Capacity"/> are dropped, oldest first (use the SQLite store, <c>UseSqlite</c>, to keep everything).
/// </summary>
public sealed class InMemoryPaymentJournal : IPaymentJournal
{
    /// <summary>The most settled or rejected entries kept.</summary>
    public const int Capacity = 10_000;

    private readonly Dictionary<Guid, JournalEntry> _entries = [];
    private readonly Queue<Guid> _finished = new();
    private readonly object _gate = new();

    /// <inheritdoc />
    public ValueTask RecordAsync(JournalEntry entry, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        lock (_gate)
        {
            _entries[entry.Id] = entry;
        }

        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask UpdateAsync(Guid id, JournalState state, string? reference, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_entries.TryGetValue(id, out var entry))
            {
                _entries[id] = entry with { State = state, Reference = reference ?? entry.Reference };
                if (state is JournalState.Settled or JournalState.Rejected)
                {
                    _finished.Enqueue(id);
                    while (_finished.Count > Capacity)
                    {
                        _entries.Remove(_finished.Dequeue());
                    }
                }
            }
        }

        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<JournalEntry>> GetAllAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return ValueTask.FromResult<IReadOnlyList<JournalEntry>>([.. _entries.Values.OrderBy(e => e.CreatedAt)]);
        }
    }
}
