namespace Mpp.Client.Protocol;

/// <summary>The outcome of reading every Payment challenge of a response: the valid ones and why the others were refused.</summary>
public sealed class PaymentChallengeParseResult
{
    internal PaymentChallengeParseResult(IReadOnlyList<PaymentChallenge> challenges, IReadOnlyList<MppProtocolException> errors, bool exceedsSizeLimit = false)
    {
        Challenges = challenges;
        Errors = errors;
        ExceedsSizeLimit = exceedsSizeLimit;
    }

    /// <summary>Gets the valid Payment challenges, in the order the server sent them.</summary>
    public IReadOnlyList<PaymentChallenge> Challenges { get; }

    /// <summary>Gets one error for each Payment challenge that was malformed and skipped.</summary>
    public IReadOnlyList<MppProtocolException> Errors { get; }

    /// <summary>
    /// Gets whether the <c>WWW-Authenticate</c> values were longer than <see cref="ChallengeLimits.MaxChallengeHeaderLength"/>
    /// together: then none was read, <see cref="Challenges"/> is empty and <see cref="Errors"/> says why.
    /// </summary>
    public bool ExceedsSizeLimit { get; }
}
