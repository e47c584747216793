namespace Mpp.Client;

/// <summary>The request a payment is for, as the payment handler hands it to methods, policies and approvers.</summary>
public sealed class PaymentContext
{
    /// <summary>Initializes a context.</summary>
    /// <param name="clientName">The named HttpClient, or an empty string.</param>
    /// <param name="method">The HTTP method.</param>
    /// <param name="requestUri">The absolute URI paid for.</param>
    /// <param name="round">The payment round, starting at 1.</param>
    public PaymentContext(string clientName, HttpMethod method, Uri requestUri, int round)
    {
        ArgumentNullException.ThrowIfNull(clientName);
        ArgumentNullException.ThrowIfNull(method);
        ArgumentNullException.ThrowIfNull(requestUri);
        ClientName = clientName;
        HttpMethod = method;
        RequestUri = requestUri;
        Round = round;
    }

    /// <summary>Gets the named HttpClient the request went through.</summary>
    public string ClientName { get; }

    /// <summary>Gets the HTTP method.</summary>
    public HttpMethod HttpMethod { get; }

    /// <summary>Gets the absolute URI paid for.</summary>
    public Uri RequestUri { get; }

    /// <summary>Gets the host paid (lowercase).</summary>
    public string Host => RequestUri.IdnHost.ToLowerInvariant();

    /// <summary>Gets the payment round of this call, starting at 1.</summary>
    public int Round { get; }
}
