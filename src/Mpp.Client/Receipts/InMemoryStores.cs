namespace Mpp.Client;

/// <summary>Receipts held in memory.</summary>
public sealed class InMemoryReceiptStore : IReceiptStore
{
    private readonly List<StoredReceipt> _receipts = [];
    private readonly object _gate = new();

    /// <inheritdoc />
    public ValueTask AddAsync(StoredReceipt receipt, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(receipt);
        lock (_gate)
        {
            _receipts.Add(receipt);
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

/// <summary>A payment journal held in memory.</summary>
public sealed class InMemoryPaymentJournal : IPaymentJournal
{
    private readonly List<JournalEntry> _entries = [];
    private readonly object _gate = new();

    /// <inheritdoc />
    public ValueTask RecordAsync(JournalEntry entry, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        lock (_gate)
        {
            _entries.Add(entry);
        }

        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask UpdateAsync(Guid id, JournalState state, string? reference, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            var index = _entries.FindIndex(e => e.Id == id);
            if (index >= 0)
            {
                _entries[index] = _entries[index] with { State = state, Reference = reference ?? _entries[index].Reference };
            }
        }

        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<JournalEntry>> GetAllAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return ValueTask.FromResult<IReadOnlyList<JournalEntry>>([.. _entries]);
        }
    }
}
