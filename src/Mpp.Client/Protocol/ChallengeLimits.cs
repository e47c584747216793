namespace Mpp.Client.Protocol;

/// <summary>
/// Size limits applied while parsing. Servers should keep challenges under 8 KB and clients must accept
/// at least 4 KB; the reference SDKs cap <c>request</c> at 16 KiB. Anything larger is refused, never buffered.
/// </summary>
public static class ChallengeLimits
{
    /// <summary>The longest <c>WWW-Authenticate</c> field value read (64 KiB); a longer value is rejected whole.</summary>
    public const int MaxHeaderValueLength = 64 * 1024;

    /// <summary>The longest value of any one challenge parameter, <c>request</c> included (16 KiB).</summary>
    public const int MaxParameterLength = 16 * 1024;

    /// <summary>The most parameters one challenge may carry.</summary>
    public const int MaxParameters = 32;

    /// <summary>The most Payment challenges read from one response; later ones are reported as errors.</summary>
    public const int MaxChallenges = 32;

    /// <summary>The longest credential, receipt or problem value parsed (64 KiB).</summary>
    public const int MaxEncodedValueLength = 64 * 1024;
}
