using System.Diagnostics.CodeAnalysis;
using System.Text.Json;

namespace Mpp.Client.Protocol;

/// <summary>
/// An RFC 9457 problem details object as MPP servers send it with 402, 400 and 500 answers. Unknown
/// types and extension members are kept.
/// </summary>
public sealed class PaymentProblem
{
    /// <summary>The media type of a problem document.</summary>
    public const string MediaType = "application/problem+json";

    private PaymentProblem(JsonElement json, string type, string? title, int? status, string? detail, string? instance, string? challengeId)
    {
        Json = json;
        Type = type;
        Title = title;
        Status = status;
        Detail = detail;
        Instance = instance;
        ChallengeId = challengeId;
    }

    /// <summary>Gets the problem type URI; <c>about:blank</c> when the document has none (RFC 9457 §3.1.1).</summary>
    public string Type { get; }

    /// <summary>Gets the MPP code: the part of <see cref="Type"/> after <see cref="PaymentProblemTypes.BaseUri"/> (for example <c>verification-failed</c>), or <see langword="null"/> for other types.</summary>
    public string? Code => Type.StartsWith(PaymentProblemTypes.BaseUri, StringComparison.Ordinal) ? Type[PaymentProblemTypes.BaseUri.Length..] : null;

    /// <summary>Gets whether <see cref="Type"/> is one MPP defines (<see cref="PaymentProblemTypes"/>).</summary>
    public bool IsKnownType => PaymentProblemTypes.IsKnown(Type);

    /// <summary>Gets the short summary, if any.</summary>
    public string? Title { get; }

    /// <summary>Gets the HTTP status the server stated in the document, if any.</summary>
    public int? Status { get; }

    /// <summary>Gets the explanation, if any.</summary>
    public string? Detail { get; }

    /// <summary>Gets the instance URI, if any.</summary>
    public string? Instance { get; }

    /// <summary>Gets the <c>challengeId</c> extension member, if any.</summary>
    public string? ChallengeId { get; }

    /// <summary>Gets the whole document, extension members included.</summary>
    public JsonElement Json { get; }

    /// <summary>Parses a problem document.</summary>
    /// <param name="utf8Json">The UTF-8 JSON body.</param>
    /// <returns>The problem.</returns>
    /// <exception cref="MppProtocolException">The body is not a JSON object, or is too large.</exception>
    public static PaymentProblem Parse(ReadOnlySpan<byte> utf8Json)
    {
        if (utf8Json.Length > ChallengeLimits.MaxEncodedValueLength)
        {
            throw MppProtocolException.Parse($"The problem document is larger than {ChallengeLimits.MaxEncodedValueLength} bytes.", "problem");
        }

        JsonObjectValidator.ValidateObject(utf8Json, "problem");
        using var document = JsonDocument.Parse(utf8Json.ToArray());
        return FromJson(document.RootElement);
    }

    /// <summary>Parses a problem document.</summary>
    /// <param name="json">The JSON text.</param>
    /// <returns>The problem.</returns>
    /// <exception cref="MppProtocolException">The text is not a JSON object, or is too large.</exception>
    public static PaymentProblem Parse(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        return Parse(System.Text.Encoding.UTF8.GetBytes(json));
    }

    /// <summary>Tries to parse a problem document.</summary>
    /// <param name="utf8Json">The UTF-8 JSON body.</param>
    /// <param name="problem">The problem, when valid.</param>
    /// <returns><see langword="true"/> when the body is a problem object.</returns>
    public static bool TryParse(ReadOnlySpan<byte> utf8Json, [NotNullWhen(true)] out PaymentProblem? problem)
    {
        try
        {
            problem = Parse(utf8Json);
            return true;
        }
        catch (MppProtocolException)
        {
            problem = null;
            return false;
        }
    }

    /// <summary>Reads a problem from a JSON object (also the form MCP puts in <c>error.data.problem</c>).</summary>
    /// <param name="json">The object.</param>
    /// <returns>The problem; it holds a copy of <paramref name="json"/>.</returns>
    /// <exception cref="MppProtocolException">The value is not an object.</exception>
    public static PaymentProblem FromJson(JsonElement json)
    {
        try
        {
            return FromJsonCore(json);
        }
        catch (InvalidOperationException)
        {
            // System.Text.Json refuses to read names or strings holding invalid UTF-8 or an escaped lone surrogate.
            throw MppProtocolException.Parse("The problem document holds a name or string that is not valid UTF-8 or UTF-16.", "problem");
        }
    }

    private static PaymentProblem FromJsonCore(JsonElement json)
    {
        if (json.ValueKind != JsonValueKind.Object)
        {
            throw MppProtocolException.Parse("The problem document must be a JSON object.", "problem");
        }

        // RFC 9457 §3.1: members of the wrong JSON type are ignored rather than fatal.
        int? status = json.TryGetProperty("status", out var s) && s.ValueKind == JsonValueKind.Number && s.TryGetInt32(out var code) ? code : null;
        return new PaymentProblem(
            json.Clone(),
            OptionalString(json, "type") ?? "about:blank",
            OptionalString(json, "title"),
            status,
            OptionalString(json, "detail"),
            OptionalString(json, "instance"),
            OptionalString(json, "challengeId"));
    }

    /// <summary>Describes the problem by type, status and title.</summary>
    /// <returns>The description.</returns>
    public override string ToString() => $"{Code ?? Type} ({Status?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "no status"}): {Title ?? Detail ?? "no title"}";

    private static string? OptionalString(JsonElement json, string name)
    {
        if (!json.TryGetProperty(name, out var value) || value.ValueKind != JsonValueKind.String)
        {
            return null;
        }

        return CanonicalJson.GetString(value);
    }
}
