using System.Text.Json;
using System.Text.Json.Nodes;
using Mpp.Client.Protocol;

namespace Mpp.Client;

/// <summary>
/// The payment members of a JSON-RPC error's <c>data</c> (or an MCP payment-required tool result): the challenges as
/// parsed and as received (each is echoed unchanged in its credential), the problem and the failure reason.
/// </summary>
internal sealed class JsonRpcPaymentData
{
    private readonly Dictionary<string, JsonElement> _raw;

    private JsonRpcPaymentData(List<PaymentChallenge> challenges, Dictionary<string, JsonElement> raw, List<string> errors, PaymentProblem? problem, string? failureReason)
    {
        Challenges = challenges;
        _raw = raw;
        Errors = errors;
        Problem = problem;
        FailureReason = failureReason;
    }

    public IReadOnlyList<PaymentChallenge> Challenges { get; }

    public IReadOnlyList<string> Errors { get; }

    public PaymentProblem? Problem { get; }

    public string? FailureReason { get; }

    public static JsonRpcPaymentData Empty { get; } = new([], new(StringComparer.Ordinal), [], null, null);

    /// <summary>Reads <c>{ challenges, problem?, failure? }</c>; anything missing or malformed is skipped, never thrown.</summary>
    public static JsonRpcPaymentData Read(JsonElement? data)
    {
        if (data is not { ValueKind: JsonValueKind.Object } value)
        {
            return Empty;
        }

        try
        {
            return ReadObject(value);
        }
        catch (InvalidOperationException)
        {
            // A name or string that is not valid UTF-8/UTF-16 (the transports validate documents first; this is the backstop).
            return new JsonRpcPaymentData([], new(StringComparer.Ordinal), ["The payment data holds text that is not valid UTF-8 or UTF-16."], null, null);
        }
    }

    private static JsonRpcPaymentData ReadObject(JsonElement value)
    {

        var challenges = new List<PaymentChallenge>();
        var raw = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        var errors = new List<string>();
        if (value.TryGetProperty("challenges", out var list) && list.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in list.EnumerateArray())
            {
                try
                {
                    var challenge = PaymentChallenge.FromJson(item);
                    if (raw.TryAdd(challenge.Id, item.Clone()))
                    {
                        challenges.Add(challenge);
                    }
                }
                catch (MppProtocolException ex)
                {
                    errors.Add(ex.Message);
                }
            }
        }

        PaymentProblem? problem = null;
        if (value.TryGetProperty("problem", out var p) && p.ValueKind == JsonValueKind.Object)
        {
            try
            {
                problem = PaymentProblem.FromJson(p);
            }
            catch (MppProtocolException ex)
            {
                errors.Add(ex.Message);
            }
        }

        string? reason = null;
        if (value.TryGetProperty("failure", out var failure) && failure.ValueKind == JsonValueKind.Object &&
            failure.TryGetProperty("reason", out var r) && r.ValueKind == JsonValueKind.String)
        {
            try
            {
                reason = CanonicalJson.GetString(r);
            }
            catch (MppProtocolException ex)
            {
                errors.Add(ex.Message); // an escaped lone surrogate: no reason rather than a crash
            }
        }

        return new JsonRpcPaymentData(challenges, raw, errors, problem, reason);
    }

    /// <summary>The challenge object exactly as the server sent it, when it came through here.</summary>
    public bool TryGetRaw(string challengeId, out JsonElement raw) => _raw.TryGetValue(challengeId, out raw);

    /// <summary>
    /// The credential object for <c>_meta["org.paymentauth/credential"]</c>: the challenge echoed as received (or, for one
    /// that did not come through here, its canonical JSON form with <c>request</c> as an object), the payload and source.
    /// </summary>
    public static JsonObject CredentialJson(PaymentCredential credential, JsonElement? rawChallenge)
    {
        ArgumentNullException.ThrowIfNull(credential);
        var challenge = rawChallenge is { ValueKind: JsonValueKind.Object } raw
            ? JsonNode.Parse(raw.GetRawText())!
            : JsonNode.Parse(credential.Challenge.ToJson(decodeRequest: true))!;
        var result = new JsonObject
        {
            ["challenge"] = challenge,
            ["payload"] = JsonNode.Parse(credential.Payload.GetRawText()),
        };
        if (credential.Source is { } source)
        {
            result["source"] = JsonNode.Parse(source.GetRawText());
        }

        return result;
    }

    /// <summary>Reads <c>_meta["org.paymentauth/receipt"]</c>, or <see langword="null"/> when it is absent or malformed.</summary>
    public static PaymentReceipt? ReadReceipt(JsonElement? meta)
    {
        try
        {
            return meta is { ValueKind: JsonValueKind.Object } value && value.TryGetProperty(JsonRpcPaymentCodes.ReceiptKey, out var receipt) && receipt.ValueKind == JsonValueKind.Object
                ? PaymentReceipt.FromJson(receipt)
                : null;
        }
        catch (Exception ex) when (ex is MppProtocolException or InvalidOperationException)
        {
            return null; // InvalidOperationException: a member name that is not valid text
        }
    }
}
