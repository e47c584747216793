namespace Mpp.Client.Protocol;

/// <summary>
/// Size limits applied while parsing. Servers should keep challenges under 8 KB and clients must accept
/// at least 4 KB; the reference SDKs cap <c>request</c> at 16 KiB. Anything larger is refused, never buffered.
/// </summary>
/// <remarks>
/// The work spent on one 402 is bounded by bytes, not by a count of challenges: every <c>Payment</c> challenge
/// within <see cref="MaxChallengeHeaderLength"/> is read, however many there are and whatever methods they name,
/// so no number of challenges for unknown methods ahead of a payable one can stop it from being paid.
/// </remarks>
public static class ChallengeLimits
{
    /// <summary>
    /// The most characters (bytes on the wire) of <c>WWW-Authenticate</c> read for one response, all its values
    /// together: 32 KiB. Responses with more are refused whole, nothing read and nothing paid. Twice the 16 KB a
    /// server may need for many challenges, and below <see cref="System.Net.Http.SocketsHttpHandler"/>'s default
    /// 64 KB limit on all response headers, so the limit is ours to report rather than a transport failure.
    /// </summary>
    public const int MaxChallengeHeaderLength = 32 * 1024;

    /// <summary>The longest value of any one challenge parameter, <c>request</c> included (16 KiB).</summary>
    public const int MaxParameterLength = 16 * 1024;

    /// <summary>The most parameters one challenge may carry.</summary>
    public const int MaxParameters = 32;

    /// <summary>The longest credential, receipt or problem value parsed (64 KiB).</summary>
    public const int MaxEncodedValueLength = 64 * 1024;
}
