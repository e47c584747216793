namespace Mpp.Client.Protocol;

/// <summary>The RFC 9457 problem <c>type</c> URIs MPP defines, core and method-specific.</summary>
public static class PaymentProblemTypes
{
    /// <summary>The base URI every MPP problem type starts with.</summary>
    public const string BaseUri = "https://paymentauth.org/problems/";

    /// <summary>402: payment is required (the first challenge).</summary>
    public const string PaymentRequired = BaseUri + "payment-required";

    /// <summary>402: the challenge id is unknown or already used.</summary>
    public const string InvalidChallenge = BaseUri + "invalid-challenge";

    /// <summary>402: the challenge or authorization expired (draft -01; -00 servers say <see cref="InvalidChallenge"/>).</summary>
    public const string PaymentExpired = BaseUri + "payment-expired";

    /// <summary>402: the credential is not valid base64url JSON.</summary>
    public const string MalformedCredential = BaseUri + "malformed-credential";

    /// <summary>402: the payload fails the method's schema.</summary>
    public const string InvalidPayload = BaseUri + "invalid-payload";

    /// <summary>402: the proof did not verify.</summary>
    public const string VerificationFailed = BaseUri + "verification-failed";

    /// <summary>402: the amount paid is too low.</summary>
    public const string PaymentInsufficient = BaseUri + "payment-insufficient";

    /// <summary>402: the payer must take a further action (for example 3-D Secure).</summary>
    public const string PaymentActionRequired = BaseUri + "payment-action-required";

    /// <summary>400: the server does not accept this method.</summary>
    public const string MethodUnsupported = BaseUri + "method-unsupported";

    /// <summary>400: the request or its parameters are malformed.</summary>
    public const string BadRequest = BaseUri + "bad-request";

    /// <summary>500: the payment processor failed; transient.</summary>
    public const string InternalPaymentError = BaseUri + "internal-payment-error";

    /// <summary>Tempo session: the voucher signature is invalid.</summary>
    public const string SessionInvalidSignature = BaseUri + "session/invalid-signature";

    /// <summary>Tempo session: the voucher signer is not the channel's authorized signer.</summary>
    public const string SessionSignerMismatch = BaseUri + "session/signer-mismatch";

    /// <summary>Tempo session: the cumulative amount exceeds the deposit.</summary>
    public const string SessionAmountExceedsDeposit = BaseUri + "session/amount-exceeds-deposit";

    /// <summary>Tempo session: the voucher increment is below the minimum.</summary>
    public const string SessionDeltaTooSmall = BaseUri + "session/delta-too-small";

    /// <summary>Tempo session: the server does not know the channel.</summary>
    public const string SessionChannelNotFound = BaseUri + "session/channel-not-found";

    /// <summary>Tempo session: the channel is closed.</summary>
    public const string SessionChannelFinalized = BaseUri + "session/channel-finalized";

    /// <summary>Tempo session: the server does not know the challenge the voucher names.</summary>
    public const string SessionChallengeNotFound = BaseUri + "session/challenge-not-found";

    /// <summary>Tempo session: the channel balance is insufficient.</summary>
    public const string SessionInsufficientBalance = BaseUri + "session/insufficient-balance";

    /// <summary>Generic session draft: the voucher value is insufficient.</summary>
    public const string SessionInsufficientValue = BaseUri + "session/insufficient-value";

    /// <summary>Lightning: the credential is malformed.</summary>
    public const string LightningMalformedCredential = BaseUri + "lightning/malformed-credential";

    /// <summary>Lightning: the challenge is unknown.</summary>
    public const string LightningUnknownChallenge = BaseUri + "lightning/unknown-challenge";

    /// <summary>Lightning: the preimage does not match.</summary>
    public const string LightningInvalidPreimage = BaseUri + "lightning/invalid-preimage";

    /// <summary>Lightning: the invoice expired.</summary>
    public const string LightningExpiredInvoice = BaseUri + "lightning/expired-invoice";

    /// <summary>Lightning: the session is unknown.</summary>
    public const string LightningSessionNotFound = BaseUri + "lightning/session-not-found";

    /// <summary>Lightning: the session is closed.</summary>
    public const string LightningSessionClosed = BaseUri + "lightning/session-closed";

    /// <summary>Lightning: the session balance is insufficient.</summary>
    public const string LightningInsufficientBalance = BaseUri + "lightning/insufficient-balance";

    /// <summary>Lightning: the challenge expired.</summary>
    public const string LightningChallengeExpired = BaseUri + "lightning/challenge-expired";

    /// <summary>Lightning: the return invoice is invalid.</summary>
    public const string LightningInvalidReturnInvoice = BaseUri + "lightning/invalid-return-invoice";

    /// <summary>Gets every problem type above.</summary>
    public static IReadOnlyCollection<string> All { get; } = new HashSet<string>(StringComparer.Ordinal)
    {
        PaymentRequired, InvalidChallenge, PaymentExpired, MalformedCredential, InvalidPayload, VerificationFailed,
        PaymentInsufficient, PaymentActionRequired, MethodUnsupported, BadRequest, InternalPaymentError,
        SessionInvalidSignature, SessionSignerMismatch, SessionAmountExceedsDeposit, SessionDeltaTooSmall,
        SessionChannelNotFound, SessionChannelFinalized, SessionChallengeNotFound, SessionInsufficientBalance,
        SessionInsufficientValue,
        LightningMalformedCredential, LightningUnknownChallenge, LightningInvalidPreimage, LightningExpiredInvoice,
        LightningSessionNotFound, LightningSessionClosed, LightningInsufficientBalance, LightningChallengeExpired,
        LightningInvalidReturnInvoice,
    };

    /// <summary>Is <paramref name="type"/> one of the problem types above?</summary>
    /// <param name="type">A problem <c>type</c> URI.</param>
    /// <returns><see langword="true"/> for a known type.</returns>
    public static bool IsKnown(string? type) => type is not null && ((HashSet<string>)All).Contains(type);
}
