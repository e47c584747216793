using System.Diagnostics.CodeAnalysis;
using System.Text.Json;

namespace Mpp.Client.Protocol;

/// <summary>
/// A <c>Payment-Receipt</c>: base64url of a JSON object with <c>status</c>, <c>method</c>, <c>timestamp</c>
/// and <c>reference</c>. Methods add members (<c>challengeId</c>, <c>externalId</c>, session balances…);
/// they are all kept in <see cref="Json"/>.
/// </summary>
/// <remarks>Receipts are sensitive: <see cref="ToString"/> shows only the method and status.</remarks>
public sealed class PaymentReceipt
{
    /// <summary>The only status the core protocol defines.</summary>
    public const string SuccessStatus = "success";

    private PaymentReceipt(JsonElement json, string status, string method, string timestampText, DateTimeOffset timestamp, string reference, string? externalId)
    {
        Json = json;
        Status = status;
        Method = method;
        TimestampText = timestampText;
        Timestamp = timestamp;
        Reference = reference;
        ExternalId = externalId;
    }

    /// <summary>Gets the status, <c>success</c> for a settled payment.</summary>
    public string Status { get; }

    /// <summary>Gets whether <see cref="Status"/> is <c>success</c>.</summary>
    public bool IsSuccess => Status == SuccessStatus;

    /// <summary>Gets the payment method id.</summary>
    public string Method { get; }

    /// <summary>Gets the settlement time.</summary>
    public DateTimeOffset Timestamp { get; }

    /// <summary>Gets the settlement time exactly as received.</summary>
    public string TimestampText { get; }

    /// <summary>Gets the method reference: a transaction hash, a PaymentIntent id, a channel id…</summary>
    public string Reference { get; }

    /// <summary>Gets the merchant reference, when present.</summary>
    public string? ExternalId { get; }

    /// <summary>Gets the whole receipt object, method extensions included.</summary>
    public JsonElement Json { get; }

    /// <summary>Looks up a member of the receipt object, for example <c>challengeId</c>.</summary>
    /// <param name="name">The member name.</param>
    /// <param name="value">The value.</param>
    /// <returns><see langword="true"/> when the member is present.</returns>
    public bool TryGetMember(string name, out JsonElement value) => Json.TryGetProperty(name, out value);

    /// <summary>Parses a <c>Payment-Receipt</c> field value.</summary>
    /// <param name="headerValue">The base64url text.</param>
    /// <returns>The receipt.</returns>
    /// <exception cref="MppProtocolException">The value is not base64url JSON, or a required member is missing or invalid.</exception>
    public static PaymentReceipt Parse(string headerValue)
    {
        ArgumentNullException.ThrowIfNull(headerValue);
        var text = headerValue.AsSpan().Trim(" \t");
        if (text.Length > ChallengeLimits.MaxEncodedValueLength)
        {
            throw MppProtocolException.Parse($"The receipt is longer than {ChallengeLimits.MaxEncodedValueLength} characters.");
        }

        var buffer = new byte[Base64UrlCodec.GetMaxDecodedLength(text.Length)];
        if (!Base64UrlCodec.TryDecode(text, buffer, out var written, out var reason))
        {
            throw MppProtocolException.Parse($"The receipt is not base64url: {reason}", "receipt");
        }

        var bytes = buffer.AsSpan(0, written);
        JsonObjectValidator.ValidateObject(bytes, "receipt");
        using var document = JsonDocument.Parse(bytes.ToArray());
        return FromJson(document.RootElement);
    }

    /// <summary>Tries to parse a <c>Payment-Receipt</c> field value.</summary>
    /// <param name="headerValue">The field value.</param>
    /// <param name="receipt">The receipt, when valid.</param>
    /// <returns><see langword="true"/> when the value is a valid receipt.</returns>
    public static bool TryParse([NotNullWhen(true)] string? headerValue, [NotNullWhen(true)] out PaymentReceipt? receipt)
    {
        receipt = null;
        if (headerValue is null)
        {
            return false;
        }

        try
        {
            receipt = Parse(headerValue);
            return true;
        }
        catch (MppProtocolException)
        {
            return false;
        }
    }

    /// <summary>Reads a receipt from its JSON object (the header's decoded form, or MCP's <c>_meta</c> form).</summary>
    /// <param name="json">The receipt object.</param>
    /// <returns>The receipt; it holds a copy of <paramref name="json"/>.</returns>
    /// <exception cref="MppProtocolException">A required member is missing or invalid.</exception>
    public static PaymentReceipt FromJson(JsonElement json)
    {
        try
        {
            return FromJsonCore(json);
        }
        catch (InvalidOperationException)
        {
            // System.Text.Json refuses to read names or strings holding invalid UTF-8 or an escaped lone surrogate.
            throw MppProtocolException.Parse("The receipt holds a name or string that is not valid UTF-8 or UTF-16.", "receipt");
        }
    }

    private static PaymentReceipt FromJsonCore(JsonElement json)
    {
        if (json.ValueKind != JsonValueKind.Object)
        {
            throw MppProtocolException.Parse("The receipt must be a JSON object.", "receipt");
        }

        var status = RequireString(json, "status", nonEmpty: true);
        var method = RequireString(json, "method", nonEmpty: true);
        var timestampText = RequireString(json, "timestamp", nonEmpty: true);
        var reference = RequireString(json, "reference", nonEmpty: true);
        if (!Rfc3339.TryParse(timestampText, out var timestamp))
        {
            throw MppProtocolException.Parse("The receipt 'timestamp' is not an RFC 3339 date-time.", "timestamp");
        }

        string? externalId = null;
        if (json.TryGetProperty("externalId", out var external) && external.ValueKind != JsonValueKind.Null)
        {
            externalId = external.ValueKind == JsonValueKind.String
                ? CanonicalJson.GetString(external)
                : throw MppProtocolException.Parse("The receipt 'externalId' must be a string.", "externalId");
        }

        return new PaymentReceipt(json.Clone(), status, method, timestampText, timestamp, reference, externalId);
    }

    /// <summary>Builds a receipt (servers and the test kit use this).</summary>
    /// <param name="method">The method id.</param>
    /// <param name="reference">The method reference.</param>
    /// <param name="timestamp">The settlement time.</param>
    /// <param name="extensions">Further members, for example <c>challengeId</c>; may not redefine the core members.</param>
    /// <returns>The receipt.</returns>
    public static PaymentReceipt Create(string method, string reference, DateTimeOffset timestamp, IReadOnlyDictionary<string, JsonElement>? extensions = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(method);
        ArgumentException.ThrowIfNullOrEmpty(reference);
        using var buffer = new PooledBufferWriter();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("status", SuccessStatus);
            writer.WriteString("method", method);
            writer.WriteString("timestamp", Rfc3339.Format(timestamp));
            writer.WriteString("reference", reference);
            if (extensions is not null)
            {
                foreach (var (name, value) in extensions)
                {
                    if (name is "status" or "method" or "timestamp" or "reference")
                    {
                        throw new ArgumentException($"The extension '{name}' would redefine a core receipt member.", nameof(extensions));
                    }

                    writer.WritePropertyName(name);
                    value.WriteTo(writer);
                }
            }

            writer.WriteEndObject();
        }

        using var document = JsonDocument.Parse(buffer.WrittenSpan.ToArray());
        return FromJson(document.RootElement);
    }

    /// <summary>Formats the field value: base64url of the canonical JSON.</summary>
    /// <returns>The field value.</returns>
    public string ToHeaderValue() => CanonicalJson.SerializeToBase64Url(Json);

    /// <summary>A redacted description: method and status only.</summary>
    /// <returns>The description.</returns>
    public override string ToString() => $"Payment receipt ({Method}, {Status})";

    private static string RequireString(JsonElement json, string name, bool nonEmpty)
    {
        if (!json.TryGetProperty(name, out var value))
        {
            throw MppProtocolException.Parse($"The receipt has no '{name}'.", name);
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            throw MppProtocolException.Parse($"The receipt '{name}' must be a string.", name);
        }

        var text = CanonicalJson.GetString(value);
        if (nonEmpty && text.Length == 0)
        {
            throw MppProtocolException.Parse($"The receipt '{name}' is empty.", name);
        }

        return text;
    }
}
