using System.Collections;
using System.Text.Json;
using System.Text.Json.Nodes;
using ModelContextProtocol;

namespace Mpp.Client.Mcp;

/// <summary>
/// Reads MPP payment errors out of the MCP C# SDK's exceptions. The SDK raises a JSON-RPC error as an
/// <see cref="McpProtocolException"/> whose <see cref="McpProtocolException.ErrorCode"/> is the wire code and whose
/// <see cref="Exception.Data"/> holds the members of the error's <c>data</c> (as <see cref="JsonElement"/>s); the code is
/// matched, never the message, and every exception in the chain is searched. When the exception has no challenges
/// (SDK 2.3.1 turns a <c>-32042</c> without <c>elicitations</c> into a <see cref="JsonException"/>), the copy
/// <see cref="McpPaymentCaptureHandler"/> kept of the wire answer is read instead.
/// </summary>
internal static class McpPaymentError
{
    /// <summary>Finds a JSON-RPC payment error (<c>-32042</c>, <c>-32043</c>, or after a credential <c>-32602</c>/<c>-32603</c>).</summary>
    public static bool TryRead(Exception exception, McpPaymentCaptureHandler.PaymentErrorCapture capture, bool credentialSent, out int code, out JsonRpcPaymentData data)
    {
        if (TryRead(exception, credentialSent, out code, out data))
        {
            return true;
        }

        // The SDK lost the error's data (or raised something else for it): read it from the wire copy.
        if (capture.TryGetError(out code, out var wire) && IsPaymentCode(code, credentialSent))
        {
            data = JsonRpcPaymentData.Read(wire);
            return code != JsonRpcPaymentCodes.PaymentRequired || data.Challenges.Count > 0 || data.Errors.Count > 0;
        }

        code = 0;
        data = JsonRpcPaymentData.Empty;
        return false;
    }

    private static bool IsPaymentCode(int value, bool credentialSent)
        => value is JsonRpcPaymentCodes.PaymentRequired or JsonRpcPaymentCodes.VerificationFailed ||
           (credentialSent && value is JsonRpcPaymentCodes.InvalidParams or JsonRpcPaymentCodes.InternalError);

    /// <summary>Reads the error from the exception chain alone.</summary>
    public static bool TryRead(Exception exception, bool credentialSent, out int code, out JsonRpcPaymentData data)
    {
        for (var current = exception; current is not null; current = current.InnerException)
        {
            if (current is McpProtocolException protocol)
            {
                var value = (int)protocol.ErrorCode;
                if (IsPaymentCode(value, credentialSent))
                {
                    code = value;
                    data = JsonRpcPaymentData.Read(DataObject(protocol.Data));
                    if (data.Challenges.Count > 0 || data.Errors.Count > 0)
                    {
                        return true;
                    }
                }
            }
        }

        code = 0;
        data = JsonRpcPaymentData.Empty;
        return false;
    }

    /// <summary>Rebuilds the error's <c>data</c> object from <see cref="Exception.Data"/> (JSON values, text, or a whole <c>data</c> element).</summary>
    internal static JsonElement? DataObject(IDictionary entries)
    {
        var result = new JsonObject();
        foreach (DictionaryEntry entry in entries)
        {
            if (entry.Key is not string key)
            {
                continue;
            }

            JsonNode? node = entry.Value switch
            {
                JsonElement element => JsonNode.Parse(element.GetRawText()),
                JsonNode json => json.DeepClone(),
                string text => JsonValue.Create(text),
                int number => JsonValue.Create(number),
                _ => null,
            };

            if (node is null)
            {
                continue;
            }

            // Some versions keep the whole data object under one key.
            if (key == "data" && node is JsonObject whole)
            {
                foreach (var member in whole)
                {
                    result[member.Key] = member.Value?.DeepClone();
                }

                continue;
            }

            result[key] = node;
        }

        using var document = JsonDocument.Parse(result.ToJsonString());
        return document.RootElement.Clone();
    }
}
