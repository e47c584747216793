using System.Collections;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ModelContextProtocol;
using Mpp.Client.Protocol;

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

    /// <summary>
    /// Rebuilds the error's <c>data</c> object from <see cref="Exception.Data"/> (JSON values, text, or a whole <c>data</c>
    /// element); <see langword="null"/> when it cannot be written as JSON.
    /// </summary>
    internal static JsonElement? DataObject(IDictionary entries)
    {
        try
        {
            return DataObjectCore(entries);
        }
        catch (Exception ex) when (ex is JsonException or ArgumentException or InvalidOperationException)
        {
            // Names or text that are not valid UTF-8/UTF-16, or nesting deeper than any payment error: no challenges to read.
            return null;
        }
    }

    private static JsonElement? DataObjectCore(IDictionary entries)
    {
        // Member name -> how to write its value; a later entry for the same name replaces an earlier one.
        var members = new Dictionary<string, Action<Utf8JsonWriter>>(StringComparer.Ordinal);
        foreach (DictionaryEntry entry in entries)
        {
            if (entry.Key is not string key)
            {
                continue;
            }

            switch (entry.Value)
            {
                // Some versions keep the whole data object under one key.
                case JsonElement { ValueKind: JsonValueKind.Object } whole when key == "data":
                    foreach (var member in whole.EnumerateObject())
                    {
                        var value = member.Value;
                        members[member.Name] = writer => value.WriteTo(writer);
                    }

                    break;
                case JsonObject whole when key == "data":
                    foreach (var member in whole)
                    {
                        var node = member.Value;
                        members[member.Key] = writer => WriteNode(writer, node);
                    }

                    break;
                case JsonElement element:
                    members[key] = writer => element.WriteTo(writer);
                    break;
                case JsonNode node:
                    members[key] = writer => WriteNode(writer, node);
                    break;
                case string text:
                    members[key] = writer => writer.WriteStringValue(text);
                    break;
                case int number:
                    members[key] = writer => writer.WriteNumberValue(number);
                    break;
            }
        }

        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            foreach (var (name, write) in members)
            {
                writer.WritePropertyName(name);
                write(writer);
            }

            writer.WriteEndObject();
        }

        return Parse(buffer.ToArray());
    }

    /// <summary>A tool result's <c>_meta</c> as JSON, or <see langword="null"/> when it has none or it cannot be read back.</summary>
    internal static JsonElement? ReadMeta(JsonObject? meta)
    {
        if (meta is null)
        {
            return null;
        }

        try
        {
            return Parse(Encoding.UTF8.GetBytes(meta.ToJsonString()));
        }
        catch (Exception ex) when (ex is JsonException or ArgumentException or InvalidOperationException)
        {
            return null; // no receipt or challenges can be read from it
        }
    }

    /// <summary>The object, when it is one strict JSON object (valid text, no repeated member): the only kind read for payments.</summary>
    private static JsonElement? Parse(byte[] utf8)
    {
        if (!JsonObjectValidator.IsValidObject(utf8))
        {
            return null;
        }

        using var document = JsonDocument.Parse(utf8);
        return document.RootElement.Clone();
    }

    private static void WriteNode(Utf8JsonWriter writer, JsonNode? node)
    {
        if (node is null)
        {
            writer.WriteNullValue();
        }
        else
        {
            node.WriteTo(writer);
        }
    }
}
