namespace Mpp.Client;

/// <summary>Every receipt a paid call returned, for audit and export.</summary>
public interface IReceiptStore
{
    /// <summary>Records a receipt.</summary>
    /// <param name="receipt">The receipt and what it paid for.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>A task.</returns>
    ValueTask AddAsync(StoredReceipt receipt, CancellationToken cancellationToken);

    /// <summary>Reads every receipt recorded, oldest first.</summary>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The receipts.</returns>
    ValueTask<IReadOnlyList<StoredReceipt>> GetAllAsync(CancellationToken cancellationToken);
}

/// <summary>A receipt as stored: the server's receipt and what was paid for.</summary>
/// <param name="RecordedAt">When it was recorded.</param>
/// <param name="ClientName">The named HttpClient.</param>
/// <param name="Origin">The origin paid (scheme, host, port).</param>
/// <param name="Path">The path paid (no query string: it may hold secrets).</param>
/// <param name="ChallengeId">The challenge paid.</param>
/// <param name="Method">The payment method id.</param>
/// <param name="Intent">The intent.</param>
/// <param name="Asset">The asset id text.</param>
/// <param name="Amount">The amount paid in atomic units, as text.</param>
/// <param name="Reference">The receipt's method reference (transaction hash, PaymentIntent id…).</param>
/// <param name="ReceiptJson">The whole receipt object.</param>
public sealed record StoredReceipt(
    DateTimeOffset RecordedAt,
    string ClientName,
    string Origin,
    string Path,
    string ChallengeId,
    string Method,
    string Intent,
    string Asset,
    string Amount,
    string Reference,
    string ReceiptJson);
