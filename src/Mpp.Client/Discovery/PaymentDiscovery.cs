using System.Globalization;
using System.Numerics;
using System.Text.Json;

namespace Mpp.Client;

/// <summary>
/// Reads what a service says its operations cost (protocol.md §6, <c>draft-payment-discovery</c>): <c>GET /openapi.json</c>,
/// its <c>x-service-info</c> and each operation's <c>x-payment-info</c> (one offer or <c>offers</c>). Advisory only: the
/// live 402 / <c>-32042</c> challenge always decides what is paid, and nothing here is cached in its place or used to pay.
/// </summary>
public static class PaymentDiscovery
{
    private const int MaxDocumentBytes = 4 * 1024 * 1024;
    private static readonly string[] HttpMethods = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

    /// <summary>Fetches and reads <c>/openapi.json</c> from a service's origin (never paid: the request opts out of payment).</summary>
    /// <param name="httpClient">The HttpClient to use.</param>
    /// <param name="service">Any URL of the service; only its origin is used.</param>
    /// <param name="cancellationToken">Cancels the fetch.</param>
    /// <returns>The description, or <see langword="null"/> when the service publishes none (any non-2xx answer).</returns>
    /// <exception cref="JsonException">The document is not JSON.</exception>
    public static async Task<ServiceDescription?> FetchAsync(HttpClient httpClient, Uri service, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(httpClient);
        ArgumentNullException.ThrowIfNull(service);
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(new Uri(service.GetLeftPart(UriPartial.Authority)), "/openapi.json")).WithoutPayment();
        using var response = await httpClient.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            return null;
        }

#if NET9_0_OR_GREATER
        await response.Content.LoadIntoBufferAsync(MaxDocumentBytes, cancellationToken).ConfigureAwait(false);
#else
        await response.Content.LoadIntoBufferAsync(MaxDocumentBytes).ConfigureAwait(false);
#endif
        var bytes = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        using var document = JsonDocument.Parse(bytes);
        return Parse(document.RootElement);
    }

    /// <summary>Reads an OpenAPI document's service information and payment offers. Malformed offers are skipped and listed in <see cref="ServiceDescription.Errors"/>.</summary>
    /// <param name="openApi">The OpenAPI document.</param>
    /// <returns>The description.</returns>
    public static ServiceDescription Parse(JsonElement openApi)
    {
        var errors = new List<string>();
        if (openApi.ValueKind != JsonValueKind.Object)
        {
            errors.Add("The document is not a JSON object.");
            return new ServiceDescription(null, null, [], null, null, null, [], errors);
        }

        string? title = null, version = null;
        if (openApi.TryGetProperty("info", out var info) && info.ValueKind == JsonValueKind.Object)
        {
            title = String(info, "title");
            version = String(info, "version");
        }

        var categories = new List<string>();
        Uri? apiReference = null, homepage = null, llms = null;
        if (openApi.TryGetProperty("x-service-info", out var service) && service.ValueKind == JsonValueKind.Object)
        {
            if (service.TryGetProperty("categories", out var list) && list.ValueKind == JsonValueKind.Array)
            {
                categories.AddRange(list.EnumerateArray().Where(c => c.ValueKind == JsonValueKind.String).Select(c => c.GetString()!));
            }

            if (service.TryGetProperty("docs", out var docs) && docs.ValueKind == JsonValueKind.Object)
            {
                apiReference = AbsoluteUri(docs, "apiReference");
                homepage = AbsoluteUri(docs, "homepage");
                llms = AbsoluteUri(docs, "llms");
            }
        }

        var operations = new List<OperationPrice>();
        if (openApi.TryGetProperty("paths", out var paths) && paths.ValueKind == JsonValueKind.Object)
        {
            foreach (var path in paths.EnumerateObject().Where(p => p.Value.ValueKind == JsonValueKind.Object))
            {
                foreach (var operation in path.Value.EnumerateObject())
                {
                    if (!HttpMethods.Contains(operation.Name, StringComparer.Ordinal) || operation.Value.ValueKind != JsonValueKind.Object ||
                        !operation.Value.TryGetProperty("x-payment-info", out var payment))
                    {
                        continue;
                    }

                    var where = $"{operation.Name.ToUpperInvariant()} {path.Name}";
                    var offers = ReadOffers(payment, where, errors);
                    if (offers.Count > 0)
                    {
                        operations.Add(new OperationPrice(operation.Name.ToUpperInvariant(), path.Name, String(operation.Value, "operationId"), offers));
                    }
                }
            }
        }

        return new ServiceDescription(title, version, categories, apiReference, homepage, llms, operations, errors);
    }

    private static List<PriceOffer> ReadOffers(JsonElement payment, string where, List<string> errors)
    {
        var offers = new List<PriceOffer>();
        if (payment.ValueKind != JsonValueKind.Object)
        {
            errors.Add($"{where}: x-payment-info is not an object.");
            return offers;
        }

        if (payment.TryGetProperty("offers", out var list))
        {
            if (list.ValueKind != JsonValueKind.Array || list.GetArrayLength() == 0)
            {
                errors.Add($"{where}: 'offers' must be a non-empty array.");
                return offers;
            }

            foreach (var offer in list.EnumerateArray())
            {
                AddOffer(offer);
            }
        }
        else
        {
            AddOffer(payment);
        }

        return offers;

        void AddOffer(JsonElement offer)
        {
            if (offer.ValueKind != JsonValueKind.Object)
            {
                errors.Add($"{where}: an offer is not an object.");
                return;
            }

            var intent = String(offer, "intent");
            var method = String(offer, "method");
            if (intent is null || method is null)
            {
                errors.Add($"{where}: an offer lacks 'intent' or 'method'.");
                return;
            }

            if (!offer.TryGetProperty("amount", out var amount))
            {
                errors.Add($"{where}: the {method}/{intent} offer lacks 'amount'.");
                return;
            }

            BigInteger? units = null;
            if (amount.ValueKind == JsonValueKind.String && IsBaseUnits(amount.GetString()!))
            {
                units = BigInteger.Parse(amount.GetString()!, NumberStyles.None, CultureInfo.InvariantCulture);
            }
            else if (amount.ValueKind != JsonValueKind.Null)
            {
                errors.Add($"{where}: the {method}/{intent} offer's 'amount' must be base units as a string, or null.");
                return;
            }

            offers.Add(new PriceOffer(intent, method, units, String(offer, "currency"), String(offer, "description")));
        }
    }

    private static bool IsBaseUnits(string text) => text.Length > 0 && text.All(char.IsAsciiDigit) && (text == "0" || text[0] != '0');

    private static string? String(JsonElement json, string name) => json.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static Uri? AbsoluteUri(JsonElement json, string name) => String(json, name) is { } text && Uri.TryCreate(text, UriKind.Absolute, out var uri) ? uri : null;
}

/// <summary>A service's self-description for payments (advisory: the live challenge always wins).</summary>
/// <param name="Title">The OpenAPI <c>info.title</c>.</param>
/// <param name="Version">The OpenAPI <c>info.version</c>.</param>
/// <param name="Categories">The <c>x-service-info</c> categories.</param>
/// <param name="ApiReference">The API reference URL, if any.</param>
/// <param name="Homepage">The homepage URL, if any.</param>
/// <param name="Llms">The <c>llms.txt</c> URL, if any.</param>
/// <param name="Operations">The paid operations and their offers.</param>
/// <param name="Errors">What could not be read (skipped).</param>
public sealed record ServiceDescription(
    string? Title,
    string? Version,
    IReadOnlyList<string> Categories,
    Uri? ApiReference,
    Uri? Homepage,
    Uri? Llms,
    IReadOnlyList<OperationPrice> Operations,
    IReadOnlyList<string> Errors)
{
    /// <summary>Finds the offers of one operation by HTTP method and OpenAPI path (exact template match, e.g. <c>/users/{id}</c>).</summary>
    /// <param name="method">The HTTP method.</param>
    /// <param name="path">The OpenAPI path.</param>
    /// <returns>The operation, or <see langword="null"/> when it is free or undeclared.</returns>
    public OperationPrice? Find(HttpMethod method, string path)
    {
        ArgumentNullException.ThrowIfNull(method);
        return Operations.FirstOrDefault(o => string.Equals(o.HttpMethod, method.Method, StringComparison.OrdinalIgnoreCase) && o.Path == path);
    }
}

/// <summary>What one operation says it costs.</summary>
/// <param name="HttpMethod">The HTTP method (upper case).</param>
/// <param name="Path">The OpenAPI path template.</param>
/// <param name="OperationId">The <c>operationId</c>, if any.</param>
/// <param name="Offers">The offers (at least one).</param>
public sealed record OperationPrice(string HttpMethod, string Path, string? OperationId, IReadOnlyList<PriceOffer> Offers);

/// <summary>One advertised way to pay for an operation.</summary>
/// <param name="Intent">The intent, <c>charge</c> or <c>session</c>.</param>
/// <param name="Method">The payment method, e.g. <c>tempo</c>.</param>
/// <param name="Amount">The price in the currency's base units; <see langword="null"/> for a dynamic price.</param>
/// <param name="Currency">The currency (a token address or an ISO code), if given.</param>
/// <param name="Description">The description, if any.</param>
public sealed record PriceOffer(string Intent, string Method, BigInteger? Amount, string? Currency, string? Description)
{
    /// <summary>Gets whether the price is only known from the live challenge.</summary>
    public bool IsDynamic => Amount is null;
}
