using Microsoft.Extensions.Logging;

namespace Mpp.Client;

/// <summary>
/// Every log message of the payment handler. Ids: 1000s negotiation, 1100s policy and budget, 1200s
/// settlement. Only ids, methods, amounts, rules and scheme+host+path appear: never a header value.
/// </summary>
internal static partial class Log
{
    [LoggerMessage(1000, LogLevel.Debug, "402 from {Endpoint}: {ChallengeCount} Payment challenge(s), {ErrorCount} malformed", EventName = "ChallengesReceived")]
    public static partial void ChallengesReceived(ILogger logger, LoggedUri endpoint, int challengeCount, int errorCount);

    [LoggerMessage(1001, LogLevel.Warning, "Skipped a malformed Payment challenge from {Endpoint}: {Reason}", EventName = "ChallengeMalformed")]
    public static partial void ChallengeMalformed(ILogger logger, LoggedUri endpoint, string reason);

    [LoggerMessage(1002, LogLevel.Information, "Paying challenge {ChallengeId} ({Method}/{Intent}, {Amount}) for {Endpoint}, round {Round}", EventName = "Paying")]
    public static partial void Paying(ILogger logger, string challengeId, string method, string intent, AssetAmount amount, LoggedUri endpoint, int round);

    [LoggerMessage(1003, LogLevel.Information, "Dry run: would pay challenge {ChallengeId} ({Method}/{Intent}, {Amount}) for {Endpoint}", EventName = "DryRun")]
    public static partial void DryRun(ILogger logger, string challengeId, string method, string intent, AssetAmount amount, LoggedUri endpoint);

    [LoggerMessage(1004, LogLevel.Warning, "Refused to pay {Endpoint}: {Reason}", EventName = "Unpayable")]
    public static partial void Unpayable(ILogger logger, LoggedUri endpoint, string reason);

    [LoggerMessage(1100, LogLevel.Information, "Challenge {ChallengeId} not paid: {Rule}: {Reason}", EventName = "ChallengeRefused")]
    public static partial void ChallengeRefused(ILogger logger, string? challengeId, string rule, string reason);

    [LoggerMessage(1200, LogLevel.Information, "Payment for challenge {ChallengeId} settled (HTTP {StatusCode}, reference {Reference})", EventName = "Settled")]
    public static partial void Settled(ILogger logger, string challengeId, int statusCode, string? reference);

    [LoggerMessage(1201, LogLevel.Warning, "Payment for challenge {ChallengeId} rejected (HTTP {StatusCode}, problem {ProblemType})", EventName = "Rejected")]
    public static partial void Rejected(ILogger logger, string challengeId, int statusCode, string? problemType);

    [LoggerMessage(1202, LogLevel.Error, "Outcome of the payment for challenge {ChallengeId} is unknown (journal entry {JournalEntryId}); its reservation is kept and it will not be paid again automatically", EventName = "OutcomeUnknown")]
    public static partial void OutcomeUnknown(ILogger logger, Exception exception, string challengeId, Guid journalEntryId);

    [LoggerMessage(1203, LogLevel.Warning, "The receipt for challenge {ChallengeId} is missing or invalid: {Reason}", EventName = "ReceiptInvalid")]
    public static partial void ReceiptInvalid(ILogger logger, string challengeId, string reason);

    [LoggerMessage(1204, LogLevel.Warning, "HTTP {StatusCode} after paying challenge {ChallengeId}: outcome treated as unknown, reservation kept", EventName = "UnexpectedStatusAfterPaying")]
    public static partial void UnexpectedStatusAfterPaying(ILogger logger, int statusCode, string challengeId);

    [LoggerMessage(1205, LogLevel.Error, "The {Method} method failed while recording a payment outcome", EventName = "SettlementNotificationFailed")]
    public static partial void SettlementNotificationFailed(ILogger logger, Exception exception, string method);

    [LoggerMessage(1206, LogLevel.Error, "Recording the {Outcome} outcome of the payment for challenge {ChallengeId} (journal entry {JournalEntryId}) failed at the {Step}; the call's outcome stands", EventName = "BookkeepingFailed")]
    public static partial void BookkeepingFailed(ILogger logger, Exception exception, string step, PaymentOutcome outcome, string challengeId, Guid journalEntryId);

    [LoggerMessage(1207, LogLevel.Error, "The credential for challenge {ChallengeId} was sent {Sends} times by a retry handler and the last send was answered 402: outcome unknown (journal entry {JournalEntryId}), nothing more is paid for the call", EventName = "CredentialResent")]
    public static partial void CredentialResent(ILogger logger, string challengeId, int sends, Guid journalEntryId);

    /// <summary>Scheme, host, port and path: the query string may carry secrets.</summary>
    public static string Endpoint(Uri? uri) => uri is null ? "(no uri)" : uri.GetLeftPart(UriPartial.Path);
}

/// <summary>A URI as logs show it (no query string), formatted only when a log line is actually written.</summary>
internal readonly record struct LoggedUri(Uri? Uri)
{
    public override string ToString() => Log.Endpoint(Uri);
}
