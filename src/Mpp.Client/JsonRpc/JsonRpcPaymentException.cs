using Mpp.Client.Protocol;

namespace Mpp.Client;

/// <summary>
/// A JSON-RPC or MCP server refused a payment credential (protocol.md §7): <c>-32043</c> payment verification failed
/// (after the one fresh attempt its new challenge allows), <c>-32602</c> a malformed credential, or <c>-32603</c> an
/// internal payment error. Matched on the JSON-RPC error code, never on message text.
/// </summary>
public sealed class JsonRpcPaymentException : MppException
{
    /// <summary>Initializes a new instance.</summary>
    /// <param name="message">The explanation.</param>
    /// <param name="errorCode">The JSON-RPC error code.</param>
    /// <param name="problem">The RFC 9457 problem the server put in the error data, if any.</param>
    /// <param name="failureReason">The server's <c>failure.reason</c>, if any.</param>
    /// <param name="details">What was paid and tried.</param>
    public JsonRpcPaymentException(string message, int errorCode, PaymentProblem? problem, string? failureReason, PaymentDetails? details)
        : base(message)
    {
        ErrorCode = errorCode;
        Problem = problem;
        FailureReason = failureReason;
        Details = details;
    }

    /// <summary>Gets the JSON-RPC error code, for example <see cref="JsonRpcPaymentCodes.VerificationFailed"/>.</summary>
    public int ErrorCode { get; }

    /// <summary>Gets the problem details the server sent, if any.</summary>
    public PaymentProblem? Problem { get; }

    /// <summary>Gets the server's <c>failure.reason</c> (for <c>-32043</c>), if any.</summary>
    public string? FailureReason { get; }

    /// <summary>Gets what was paid and tried.</summary>
    public PaymentDetails? Details { get; }

    /// <summary>Gets whether the server said the credential failed verification (<c>-32043</c>).</summary>
    public bool IsVerificationFailure => ErrorCode == JsonRpcPaymentCodes.VerificationFailed;
}

/// <summary>The JSON-RPC error codes and <c>_meta</c> keys of MPP over JSON-RPC and MCP (protocol.md §7).</summary>
public static class JsonRpcPaymentCodes
{
    /// <summary>Payment required: <c>error.data.challenges</c> lists what may be paid.</summary>
    public const int PaymentRequired = -32042;

    /// <summary>Payment verification failed: fresh <c>error.data.challenges</c> and a <c>failure</c>.</summary>
    public const int VerificationFailed = -32043;

    /// <summary>Invalid params (a malformed credential, among others).</summary>
    public const int InvalidParams = -32602;

    /// <summary>Internal error (an internal payment error, among others).</summary>
    public const int InternalError = -32603;

    /// <summary>The <c>_meta</c> key of the credential.</summary>
    public const string CredentialKey = "org.paymentauth/credential";

    /// <summary>The <c>_meta</c> key of the receipt.</summary>
    public const string ReceiptKey = "org.paymentauth/receipt";

    /// <summary>The <c>_meta</c> key of a payment-required tool result (an mppx extension).</summary>
    public const string PaymentRequiredKey = "org.paymentauth/payment-required";
}
