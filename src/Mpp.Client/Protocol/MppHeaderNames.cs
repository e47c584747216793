namespace Mpp.Client.Protocol;

/// <summary>HTTP field names MPP uses.</summary>
public static class MppHeaderNames
{
    /// <summary><c>WWW-Authenticate</c>: carries the challenges of a 402 response.</summary>
    public const string WwwAuthenticate = "WWW-Authenticate";

    /// <summary><c>Authorization</c>: the default field for the credential.</summary>
    public const string Authorization = "Authorization";

    /// <summary><c>Payment-Authorization</c>: the credential field a challenge may ask for with <c>header="Payment-Authorization"</c>.</summary>
    public const string PaymentAuthorization = "Payment-Authorization";

    /// <summary><c>Payment-Receipt</c>: the receipt on a paid 2xx response.</summary>
    public const string PaymentReceipt = "Payment-Receipt";

    /// <summary><c>Accept-Payment</c>: the client's optional method/intent preferences.</summary>
    public const string AcceptPayment = "Accept-Payment";

    /// <summary><c>Idempotency-Key</c>: kept the same across every retry of one logical call.</summary>
    public const string IdempotencyKey = "Idempotency-Key";
}
