using Mpp.Client;
using Mpp.Client.Protocol;

namespace System.Net.Http;

/// <summary>Per-request MPP settings and what the payment handler attached to a response.</summary>
public static class HttpMessageMppExtensions
{
    private static readonly HttpRequestOptionsKey<bool> WithoutPaymentKey = new("Mpp.WithoutPayment");
    private static readonly HttpRequestOptionsKey<bool> DryRunKey = new("Mpp.DryRun");
    private static readonly HttpRequestOptionsKey<PaymentDetails> DetailsKey = new("Mpp.PaymentDetails");

    /// <summary>Never pay for this request: a 402 is returned as received.</summary>
    /// <param name="request">The request.</param>
    /// <returns>The request.</returns>
    public static HttpRequestMessage WithoutPayment(this HttpRequestMessage request)
    {
        ArgumentNullException.ThrowIfNull(request);
        request.Options.Set(WithoutPaymentKey, true);
        return request;
    }

    /// <summary>Quote instead of paying for this request (see <see cref="MppPaymentOptions.DryRun"/>).</summary>
    /// <param name="request">The request.</param>
    /// <returns>The request.</returns>
    public static HttpRequestMessage WithPaymentDryRun(this HttpRequestMessage request)
    {
        ArgumentNullException.ThrowIfNull(request);
        request.Options.Set(DryRunKey, true);
        return request;
    }

    /// <summary>Gets what was paid for this response (challenge, quote, amount, method, receipt), or <see langword="null"/> when no 402 was negotiated.</summary>
    /// <param name="response">The response.</param>
    /// <returns>The details.</returns>
    public static PaymentDetails? GetPaymentDetails(this HttpResponseMessage response)
    {
        ArgumentNullException.ThrowIfNull(response);
        return response.RequestMessage is { } request && request.Options.TryGetValue(DetailsKey, out var details) ? details : null;
    }

    /// <summary>Gets the server's receipt for this response, when the call was paid and the receipt was valid.</summary>
    /// <param name="response">The response.</param>
    /// <returns>The receipt, or <see langword="null"/>.</returns>
    public static PaymentReceipt? GetPaymentReceipt(this HttpResponseMessage response) => response.GetPaymentDetails()?.Receipt;

    internal static bool IsPaymentDisabled(this HttpRequestMessage request) => request.Options.TryGetValue(WithoutPaymentKey, out var disabled) && disabled;

    internal static bool IsDryRun(this HttpRequestMessage request) => request.Options.TryGetValue(DryRunKey, out var dryRun) && dryRun;

    internal static void SetPaymentDetails(this HttpResponseMessage response, HttpRequestMessage fallbackRequest, PaymentDetails details)
    {
        response.RequestMessage ??= fallbackRequest;
        response.RequestMessage.Options.Set(DetailsKey, details);
    }
}
