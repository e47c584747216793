namespace Mpp.Client;

/// <summary>
/// The write-ahead payment journal: an entry is written before a credential is sent, and marked with the
/// outcome after. After a crash or a lost response, the pending and unknown entries say exactly what may
/// have been paid, so nothing is paid twice by guesswork.
/// </summary>
public interface IPaymentJournal
{
    /// <summary>Records that a credential is about to be sent. Must be durable when it returns.</summary>
    /// <param name="entry">The entry, in state <see cref="JournalState.Pending"/>.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>A task.</returns>
    ValueTask RecordAsync(JournalEntry entry, CancellationToken cancellationToken);

    /// <summary>Records the outcome of an entry.</summary>
    /// <param name="id">The entry id.</param>
    /// <param name="state">The outcome.</param>
    /// <param name="reference">The receipt reference, when settled.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>A task.</returns>
    ValueTask UpdateAsync(Guid id, JournalState state, string? reference, CancellationToken cancellationToken);

    /// <summary>Reads every entry in its latest state, oldest first.</summary>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The entries.</returns>
    ValueTask<IReadOnlyList<JournalEntry>> GetAllAsync(CancellationToken cancellationToken);
}

/// <summary>The state of a journal entry.</summary>
public enum JournalState
{
    /// <summary>The credential was (about to be) sent; no answer recorded yet. After a crash this means "unknown".</summary>
    Pending,

    /// <summary>The server accepted the payment.</summary>
    Settled,

    /// <summary>The server refused the credential.</summary>
    Rejected,

    /// <summary>No answer was read after the credential left.</summary>
    Unknown,
}

/// <summary>One credential sent. It holds a digest of the credential, never the credential.</summary>
/// <param name="Id">The entry id.</param>
/// <param name="CreatedAt">When the entry was written.</param>
/// <param name="ClientName">The named HttpClient.</param>
/// <param name="Origin">The origin paid.</param>
/// <param name="Path">The path paid (no query string).</param>
/// <param name="ChallengeId">The challenge paid.</param>
/// <param name="Method">The payment method id.</param>
/// <param name="Intent">The intent.</param>
/// <param name="Asset">The asset id text.</param>
/// <param name="Amount">The amount in atomic units, as text.</param>
/// <param name="CredentialDigest">SHA-256 (hex) of the credential header value, to match it against server logs.</param>
/// <param name="State">The state.</param>
/// <param name="Reference">The receipt reference, once settled.</param>
public sealed record JournalEntry(
    Guid Id,
    DateTimeOffset CreatedAt,
    string ClientName,
    string Origin,
    string Path,
    string ChallengeId,
    string Method,
    string Intent,
    string Asset,
    string Amount,
    string CredentialDigest,
    JournalState State,
    string? Reference);
