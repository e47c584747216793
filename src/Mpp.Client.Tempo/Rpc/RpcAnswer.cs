using System.Numerics;
using System.Text.Json;
using Mpp.Client.Protocol;
using Mpp.Client.Tempo.Evm;

namespace Mpp.Client.Tempo;

/// <summary>
/// Reads what a chain node answers, strictly: the JSON-RPC envelope and each value the client uses (quantities, hex
/// data, addresses, receipts). Whatever the node sends, the only outcome besides a value is a
/// <see cref="TempoRpcException"/> naming the method and what was wrong; the fuzz targets hold it to that.
/// </summary>
internal static class RpcAnswer
{
    /// <summary>The largest answer read (4 MiB): far above any answer the client asks for.</summary>
    public const int MaxAnswerBytes = 4 * 1024 * 1024;

    /// <summary>The <c>result</c> of a JSON-RPC answer body; an <c>error</c> member, or anything not an answer, is a <see cref="TempoRpcException"/>.</summary>
    public static JsonElement ReadResult(ReadOnlySpan<byte> body, string method)
    {
        if (body.Length > MaxAnswerBytes)
        {
            throw new TempoRpcException(method, null, $"The chain RPC answered {method} with more than {MaxAnswerBytes} bytes.");
        }

        try
        {
            // One object of valid text with no repeated member, so every value below reads one way and without exceptions.
            JsonObjectValidator.ValidateObject(body, "answer");
        }
        catch (MppProtocolException ex)
        {
            throw new TempoRpcException(method, null, $"The chain RPC's answer to {method} is not a JSON-RPC answer: {ex.Message}", ex);
        }

        try
        {
            using var document = JsonDocument.Parse(body.ToArray());
            var root = document.RootElement;

            if (root.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.Object)
            {
                var code = error.TryGetProperty("code", out var c) && c.ValueKind == JsonValueKind.Number && c.TryGetInt32(out var n) ? n : (int?)null;
                var message = error.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String ? TryGetString(m) : null;
                throw new TempoRpcException(method, code, $"The chain RPC refused {method}: {Truncate(message) ?? "(no message)"} (code {code?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none"}).");
            }

            return root.TryGetProperty("result", out var result)
                ? result.Clone()
                : throw new TempoRpcException(method, null, $"The chain RPC answered {method} without a result.");
        }
        catch (JsonException ex)
        {
            throw new TempoRpcException(method, null, $"The chain RPC answered {method} with invalid JSON (byte {ex.BytePositionInLine}).", ex);
        }
    }

    /// <summary>A member of an object result.</summary>
    public static JsonElement Member(JsonElement value, string name, string method)
        => value.ValueKind == JsonValueKind.Object && value.TryGetProperty(name, out var member)
            ? member
            : throw Invalid(method, $"has no '{name}'");

    /// <summary>A string result or member.</summary>
    public static string Text(JsonElement value, string method, string what)
        => value.ValueKind == JsonValueKind.String && TryGetString(value) is { } text ? text : throw Invalid(method, $"gave a {what} that is not a string");

    /// <summary>A <c>0x</c> quantity (at most 256 bits).</summary>
    public static BigInteger Quantity(JsonElement value, string method, string what)
    {
        var text = Text(value, method, what);
        try
        {
            return Hex.DecodeQuantity(text);
        }
        catch (FormatException)
        {
            throw Invalid(method, $"gave a {what} that is not a 0x quantity");
        }
    }

    /// <summary>A <c>0x</c> quantity that fits in a <see cref="long"/> (chain ids, timestamps).</summary>
    public static long Int64(JsonElement value, string method, string what)
    {
        var quantity = Quantity(value, method, what);
        return quantity <= long.MaxValue ? (long)quantity : throw Invalid(method, $"gave a {what} too large for a 64-bit integer");
    }

    /// <summary><c>0x</c> data with an even number of digits.</summary>
    public static byte[] Data(JsonElement value, string method, string what)
        => Hex.TryDecode(Text(value, method, what), out var bytes) ? bytes : throw Invalid(method, $"gave {what} that is not 0x hex data");

    /// <summary>An address (EIP-55 checked when mixed case).</summary>
    public static EvmAddress Address(JsonElement value, string method, string what)
        => EvmAddress.TryParse(Text(value, method, what), out var address) ? address : throw Invalid(method, $"gave a {what} that is not an address");

    /// <summary>Gas, fees and fee token from an <c>eth_fillTransaction</c> result (viem's ×1.2 on the fee, mppx's +5,000 gas on charges).</summary>
    public static FilledFees FilledFees(JsonElement result, bool isCharge)
    {
        const string method = "eth_fillTransaction";
        var tx = Member(result, "tx", method);
        var gas = Quantity(Member(tx, "gas", method), method, "gas");
        var maxFee = Quantity(Member(tx, "maxFeePerGas", method), method, "maxFeePerGas");
        var priority = Quantity(Member(tx, "maxPriorityFeePerGas", method), method, "maxPriorityFeePerGas");
        EvmAddress? feeToken = tx.TryGetProperty("feeToken", out var token) && token.ValueKind == JsonValueKind.String ? Address(token, method, "feeToken") : null;
        return new FilledFees(gas + (isCharge ? 5000 : 0), maxFee * 12 / 10, priority, feeToken);
    }

    /// <summary>A transaction receipt, or <see langword="null"/> while the transaction is pending.</summary>
    public static JsonElement? Receipt(JsonElement result)
        => result.ValueKind switch
        {
            JsonValueKind.Null => null,
            JsonValueKind.Object => result,
            _ => throw Invalid("eth_getTransactionReceipt", "gave a receipt that is neither null nor an object"),
        };

    /// <summary>Whether a receipt reports success (<c>status</c> <c>0x1</c>).</summary>
    public static bool Succeeded(JsonElement receipt)
        => Quantity(Member(receipt, "status", "eth_getTransactionReceipt"), "eth_getTransactionReceipt", "status") == BigInteger.One;

    /// <summary>The transaction hashes of an <c>eth_getLogs</c> result.</summary>
    public static IReadOnlyList<string> LogTransactionHashes(JsonElement result)
    {
        const string method = "eth_getLogs";
        if (result.ValueKind != JsonValueKind.Array)
        {
            throw Invalid(method, "gave logs that are not an array");
        }

        var hashes = new List<string>();
        foreach (var log in result.EnumerateArray())
        {
            hashes.Add(Text(Member(log, "transactionHash", method), method, "transactionHash"));
        }

        return hashes;
    }

    /// <summary>The text of a JSON string, or <see langword="null"/> when it holds an escaped lone surrogate.</summary>
    public static string? TryGetString(JsonElement value)
    {
        try
        {
            return value.GetString();
        }
        catch (InvalidOperationException)
        {
            return null; // an escaped lone surrogate
        }
    }

    private static TempoRpcException Invalid(string method, string what)
        => new(method, null, $"The chain RPC's answer to {method} {what}.");

    private static string? Truncate(string? message) => message is { Length: > 200 } ? message[..200] + "…" : message;
}
