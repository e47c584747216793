// The conformance adapter: one JSON request on stdin, one JSON response on stdout
// (ABI: ../shared/conformance/README.md). It only maps JSON to and from the SDK's public API and,
// for the server-role Tempo operations, the test kit's (TempoOperations.cs); parsing, formatting,
// validation and verification are the SDK's and the kit's own.
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Mpp.Client;
using Mpp.Client.Protocol;

Console.OutputEncoding = new UTF8Encoding(false);
var stdout = Console.OpenStandardOutput();
JsonObject response;
try
{
    var requestText = await Console.In.ReadToEndAsync();
    using var request = JsonDocument.Parse(requestText);
    var op = request.RootElement.GetProperty("op").GetString() ?? string.Empty;
    var input = request.RootElement.TryGetProperty("input", out var i) ? i : default;
    response = Adapter.Run(op, input);
}
catch (JsonException ex)
{
    response = Adapter.Error("unknown_error", "bad request JSON: " + ex.Message);
}

await using (var writer = new Utf8JsonWriter(stdout))
{
    response.WriteTo(writer);
}

await stdout.WriteAsync("\n"u8.ToArray());
return 0;

internal static class Adapter
{
    private static readonly Dictionary<string, (string ErrorType, Func<JsonElement, JsonNode> Run)> Operations = new()
    {
        ["challenge.parse"] = ("parse_error", input => JsonNode.Parse(PaymentChallenge.Parse(Header(input)).ToJson(decodeRequest: true))!),
        ["challenge.format"] = ("format_error", input => new JsonObject { ["header"] = PaymentChallenge.FromJson(input).ToHeaderValue() }),
        ["credential.parse"] = ("parse_error", input => CanonicalCredential(PaymentCredential.Parse(Header(input)))),
        ["credential.format"] = ("format_error", input => new JsonObject { ["header"] = PaymentCredential.FromJson(input).ToHeaderValue() }),
        ["receipt.parse"] = ("parse_error", input => CanonicalReceipt(PaymentReceipt.Parse(Header(input)))),
        ["receipt.format"] = ("format_error", input => new JsonObject { ["header"] = PaymentReceipt.FromJson(input).ToHeaderValue() }),
        ["base64url.encode"] = ("encoding_error", input => new JsonObject { ["text"] = Base64UrlCodec.EncodeUtf8(Text(input)) }),
        ["base64url.decode"] = ("encoding_error", input => new JsonObject { ["text"] = Base64UrlCodec.DecodeUtf8(Text(input)) }),
        ["challenge.id"] = ("generation_error", ChallengeId),
        ["tempo.receipt.verify"] = ("verification_error", TempoOperations.VerifyReceipt),
        ["tempo.fee_payer.cosign"] = ("verification_error", TempoOperations.Cosign),
    };

    public static JsonObject Run(string op, JsonElement input)
    {
        if (!Operations.TryGetValue(op, out var operation))
        {
            return Error("unsupported_operation", $"operation '{op}' is not supported by the C# SDK's adapter");
        }

        try
        {
            return new JsonObject { ["ok"] = true, ["value"] = operation.Run(input) };
        }
        catch (MppProtocolException ex)
        {
            return Error(operation.ErrorType, ex.Message);
        }
        catch (ArgumentException ex)
        {
            return Error(operation.ErrorType, ex.Message);
        }
        catch (FormatException ex)
        {
            return Error(operation.ErrorType, ex.Message);
        }
        catch (MppException ex)
        {
            return Error(operation.ErrorType, ex.Message);
        }
        catch (AdapterInputException ex)
        {
            return Error("unknown_error", ex.Message);
        }
    }

    public static JsonObject Error(string type, string message)
        => new() { ["ok"] = false, ["error"] = new JsonObject { ["type"] = type, ["message"] = message } };

    private static string Header(JsonElement input) => StringMember(input, "header");

    private static string Text(JsonElement input) => StringMember(input, "text");

    private static string StringMember(JsonElement input, string name)
        => input.ValueKind == JsonValueKind.Object && input.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String
            ? v.GetString()!
            : throw new AdapterInputException($"input.{name} must be a string");

    private static JsonNode ChallengeId(JsonElement input)
    {
        string? Optional(string name) => input.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        var request = input.TryGetProperty("request", out var r) ? r : throw new AdapterInputException("input.request is required");
        var id = PaymentChallengeId.Compute(
            StringMember(input, "secretKey"),
            StringMember(input, "realm"),
            StringMember(input, "method"),
            StringMember(input, "intent"),
            CanonicalJson.SerializeToBase64Url(request),
            Optional("expires"),
            Optional("digest"),
            Optional("opaque"),
            Optional("header"));
        return new JsonObject { ["id"] = id };
    }

    private static JsonNode CanonicalCredential(PaymentCredential credential)
    {
        var result = new JsonObject
        {
            ["challenge"] = JsonNode.Parse(credential.Challenge.ToJson(decodeRequest: true)),
            ["payload"] = JsonNode.Parse(credential.Payload.GetRawText()),
        };
        if (credential.Source is { } source)
        {
            result["source"] = JsonNode.Parse(source.GetRawText());
        }

        return result;
    }

    private static JsonNode CanonicalReceipt(PaymentReceipt receipt)
    {
        var result = new JsonObject
        {
            ["status"] = receipt.Status,
            ["method"] = receipt.Method,
            ["timestamp"] = receipt.TimestampText,
            ["reference"] = receipt.Reference,
        };
        if (receipt.ExternalId is { } externalId)
        {
            result["externalId"] = externalId;
        }

        if (receipt.TryGetMember("extra", out var extra) && extra.ValueKind == JsonValueKind.Object)
        {
            result["extra"] = JsonNode.Parse(extra.GetRawText());
        }

        return result;
    }
}

internal sealed class AdapterInputException(string message) : Exception(message);
