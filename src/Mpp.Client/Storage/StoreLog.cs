using Microsoft.Extensions.Logging;

namespace Mpp.Client;

/// <summary>The durable stores' log messages (event ids 1250–1269).</summary>
internal static partial class Log
{
    [LoggerMessage(1250, LogLevel.Warning, "Recording the {Outcome} outcome of the payment for challenge {ChallengeId} (journal entry {JournalEntryId}) in one transaction failed; each step is written on its own instead", EventName = "OutcomeBatchFailed")]
    public static partial void OutcomeBatchFailed(ILogger logger, Exception exception, PaymentOutcome outcome, string challengeId, Guid journalEntryId);
}
