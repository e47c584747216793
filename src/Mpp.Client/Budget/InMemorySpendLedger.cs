namespace Mpp.Client;

/// <summary>A spend ledger held in memory: atomic within the process, forgotten when it ends.</summary>
public sealed class InMemorySpendLedger : ISpendLedger
{
    private readonly LedgerBook _book = new();
    private readonly object _gate = new();
    private readonly TimeProvider _time;

    /// <summary>Initializes a ledger.</summary>
    /// <param name="timeProvider">The clock for reservations and rolling windows.</param>
    public InMemorySpendLedger(TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(timeProvider);
        _time = timeProvider;
    }

    /// <inheritdoc />
    public ValueTask<ReservationResult> TryReserveAsync(SpendRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            var now = _time.GetUtcNow();
            _book.Compact(now);
            return ValueTask.FromResult(_book.TryReserve(request, now));
        }
    }

    /// <inheritdoc />
    public ValueTask CommitAsync(SpendReservation reservation, CancellationToken cancellationToken) => Set(reservation, LedgerEntryState.Committed);

    /// <inheritdoc />
    public ValueTask CommitPartAsync(SpendReservation reservation, System.Numerics.BigInteger spentUnits, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reservation);
        lock (_gate)
        {
            _book.CommitPart(reservation.Id, spentUnits);
        }

        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask ReleaseAsync(SpendReservation reservation, CancellationToken cancellationToken) => Set(reservation, LedgerEntryState.Released);

    /// <inheritdoc />
    public ValueTask MarkUnknownAsync(SpendReservation reservation, CancellationToken cancellationToken) => Set(reservation, LedgerEntryState.Unknown);

    /// <inheritdoc />
    public ValueTask<SpendSummary> GetSummaryAsync(string scope, AssetId asset, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return ValueTask.FromResult(_book.Summary(scope, asset));
        }
    }

    private ValueTask Set(SpendReservation reservation, LedgerEntryState state)
    {
        ArgumentNullException.ThrowIfNull(reservation);
        lock (_gate)
        {
            _book.SetState(reservation.Id, state);
        }

        return ValueTask.CompletedTask;
    }
}
