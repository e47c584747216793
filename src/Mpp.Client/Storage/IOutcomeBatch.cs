namespace Mpp.Client;

/// <summary>
/// A journal that can record everything a credential's outcome changes in one transaction: the ledger's commit (or the
/// reservation kept as unknown), the journal entry's outcome and the receipt, when the ledger and the receipt store live in
/// the same database as the journal. All of it is written after the credential left, so one transaction changes no order the
/// invariants need; it only makes the three writes land together (a crash keeps all or none of them).
/// </summary>
internal interface IOutcomeBatch
{
    /// <summary>Whether <paramref name="ledger"/> and <paramref name="receipts"/> (<see langword="null"/>: not written) share this journal's database.</summary>
    /// <param name="ledger">The ledger whose reservation the outcome settles, or <see langword="null"/>.</param>
    /// <param name="receipts">The receipt store the receipt goes to, or <see langword="null"/>.</param>
    /// <returns><see langword="true"/> when <see cref="RecordOutcomeAsync"/> can write all of it in one transaction.</returns>
    bool CanBatch(ISpendLedger? ledger, IReceiptStore? receipts);

    /// <summary>Writes the outcome in one transaction: all of it, or nothing (then it throws).</summary>
    /// <param name="outcome">What to write.</param>
    /// <param name="cancellationToken">Cancels the wait for the database.</param>
    /// <returns>A task that completes when the transaction is committed.</returns>
    ValueTask RecordOutcomeAsync(OutcomeRecord outcome, CancellationToken cancellationToken);
}

/// <summary>What one credential's outcome writes.</summary>
/// <param name="Reservation">The reservation to settle, or <see langword="null"/> when the call holds none (a method owns it).</param>
/// <param name="Settled">Whether the reservation is committed (else kept counted as unknown).</param>
/// <param name="JournalEntryId">The write-ahead journal entry.</param>
/// <param name="State">The entry's outcome.</param>
/// <param name="Reference">The receipt's reference, if any.</param>
/// <param name="Receipt">The receipt to store, or <see langword="null"/>.</param>
internal sealed record OutcomeRecord(SpendReservation? Reservation, bool Settled, Guid JournalEntryId, JournalState State, string? Reference, StoredReceipt? Receipt);
