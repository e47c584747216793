using System.Numerics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Mpp.Client.Tempo;
using Mpp.Client.Tempo.Evm;

namespace Mpp.Client.Testing.Chain;

/// <summary>
/// The emulated Tempo JSON-RPC endpoint over <see cref="TestTempoLedger"/>: what MppClient's Tempo package calls
/// (chain id, fee filling or its fallback, broadcast, receipts, escrow and balance reads, logs).
/// </summary>
internal sealed class TempoRpcEmulator(TestTempoLedger ledger, MppTestServerOptions options)
{
    private static readonly BigInteger BaseFee = 20_000_000_000; // 20 gwei
    private static readonly BigInteger PriorityFee = 1_000_000_000; // 1 gwei
    private long _calls;

    /// <summary>Gets how many RPC requests were answered.</summary>
    public long Calls => Interlocked.Read(ref _calls);

    public byte[] Handle(ReadOnlySpan<byte> body)
    {
        Interlocked.Increment(ref _calls);
        JsonNode? id = null;
        try
        {
            using var document = JsonDocument.Parse(body.ToArray());
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("method", out var methodJson) || methodJson.ValueKind != JsonValueKind.String)
            {
                return Error(null, -32600, "invalid request");
            }

            id = root.TryGetProperty("id", out var idJson) ? JsonNode.Parse(idJson.GetRawText()) : null;
            var parameters = root.TryGetProperty("params", out var p) && p.ValueKind == JsonValueKind.Array ? [.. p.EnumerateArray()] : Array.Empty<JsonElement>();
            var result = Dispatch(methodJson.GetString()!, parameters);
            return Serialize(new JsonObject { ["jsonrpc"] = "2.0", ["id"] = id, ["result"] = result });
        }
        catch (RpcError ex)
        {
            return Error(id, ex.Code, ex.Message);
        }
        catch (JsonException ex)
        {
            return Error(id, -32700, "parse error: " + ex.Message);
        }
        catch (Exception ex) when (ex is FormatException or InvalidOperationException or KeyNotFoundException or IndexOutOfRangeException or ArgumentException)
        {
            return Error(id, -32602, "invalid params: " + ex.Message);
        }
    }

    private JsonNode? Dispatch(string method, JsonElement[] parameters)
    {
        switch (method)
        {
            case "eth_chainId":
                return Hex.EncodeQuantity(ledger.ChainId);
            case "net_version":
                return ledger.ChainId.ToString(System.Globalization.CultureInfo.InvariantCulture);
            case "eth_blockNumber":
                return Hex.EncodeQuantity(ledger.BlockNumber);
            case "eth_getBlockByNumber":
                return new JsonObject
                {
                    ["number"] = Hex.EncodeQuantity(ledger.BlockNumber),
                    ["timestamp"] = Hex.EncodeQuantity(ledger.ChainTime),
                    ["baseFeePerGas"] = Hex.EncodeQuantity(BaseFee),
                    ["hash"] = Hex.Encode(Keccak.Hash("mpp-test-block-" + ledger.BlockNumber)),
                    ["transactions"] = new JsonArray(),
                };
            case "eth_maxPriorityFeePerGas":
                return Hex.EncodeQuantity(PriorityFee);
            case "eth_gasPrice":
                return Hex.EncodeQuantity(BaseFee + PriorityFee);
            case "eth_estimateGas":
                return Hex.EncodeQuantity(500_000);
            case "eth_fillTransaction":
                if (!options.SupportsFillTransaction)
                {
                    throw new RpcError(-32601, "the method eth_fillTransaction does not exist/is not available");
                }

                return Fill(parameters);
            case "eth_sendRawTransaction":
            case "eth_sendRawTransactionSync":
                return SendRaw(parameters, method == "eth_sendRawTransactionSync");
            case "eth_getTransactionReceipt":
                return ledger.FindTransaction(Arg(parameters, 0).GetString()!) is { } record ? Receipt(record) : null;
            case "eth_call":
                return Call(parameters);
            case "eth_getLogs":
                return GetLogs(parameters);
            case "tempo_fundAddress":
                ledger.FundUnits(Arg(parameters, 0).GetString()!, parameters.Length > 1 ? Hex.DecodeQuantity(parameters[1].GetString()!) : 1_000_000_000);
                return true;
            default:
                throw new RpcError(-32601, $"the method {method} does not exist/is not available on the MPP test chain");
        }
    }

    private static JsonObject Fill(JsonElement[] parameters)
    {
        var request = Arg(parameters, 0);
        var tx = new JsonObject
        {
            ["type"] = "0x76",
            ["gas"] = Hex.EncodeQuantity(500_000),
            ["maxFeePerGas"] = Hex.EncodeQuantity(BaseFee),
            ["maxPriorityFeePerGas"] = Hex.EncodeQuantity(PriorityFee),
            ["nonce"] = "0x0",
            ["nonceKey"] = request.TryGetProperty("nonceKey", out var key) ? key.GetString() : Hex.EncodeQuantity(Tempo.Transactions.TempoTransaction.ExpiringNonceKey),
            ["feeToken"] = request.TryGetProperty("feeToken", out var token) && token.ValueKind == JsonValueKind.String ? token.GetString() : null,
            ["from"] = request.TryGetProperty("from", out var from) ? from.GetString() : null,
        };
        return new JsonObject { ["raw"] = "0x", ["tx"] = tx };
    }

    private JsonNode SendRaw(JsonElement[] parameters, bool sync)
    {
        if (!SignedTempoTransaction.TryDecode(Arg(parameters, 0).GetString(), out var tx, out var error))
        {
            throw new RpcError(-32000, "invalid transaction: " + error);
        }

        if (tx!.Sponsored)
        {
            throw new RpcError(-32000, "a 0x78 hand-off transaction needs its fee payer's signature; the test chain does not co-sign broadcasts");
        }

        try
        {
            var record = ledger.Execute(tx);
            return sync ? Receipt(record) : record.Hash;
        }
        catch (TestChainException ex)
        {
            throw new RpcError(-32000, ex.Message);
        }
    }

    private JsonNode Call(JsonElement[] parameters)
    {
        var call = Arg(parameters, 0);
        var to = EvmAddress.Parse(call.GetProperty("to").GetString()!);
        var data = Hex.Decode((call.TryGetProperty("data", out var d) ? d : call.GetProperty("input")).GetString()!);
        try
        {
            return Hex.Encode(ledger.Call(to, data));
        }
        catch (TestRevertException ex)
        {
            throw new RpcError(3, "execution reverted: " + ex.Message);
        }
        catch (FormatException ex)
        {
            throw new RpcError(3, "execution reverted: " + ex.Message);
        }
    }

    private JsonArray GetLogs(JsonElement[] parameters)
    {
        var filter = Arg(parameters, 0);
        EvmAddress? address = filter.TryGetProperty("address", out var a) && a.ValueKind == JsonValueKind.String ? EvmAddress.Parse(a.GetString()!) : null;
        var topics = filter.TryGetProperty("topics", out var t) && t.ValueKind == JsonValueKind.Array
            ? [.. t.EnumerateArray().Select(x => x.ValueKind == JsonValueKind.String ? x.GetString() : null)]
            : new List<string?>();
        var result = new JsonArray();
        foreach (var log in ledger.AllLogs())
        {
            if (address is { } wanted && log.Address != wanted)
            {
                continue;
            }

            var matches = true;
            for (var i = 0; i < topics.Count && matches; i++)
            {
                matches = topics[i] is null || (i < log.Topics.Count && string.Equals(topics[i], log.Topics[i], StringComparison.OrdinalIgnoreCase));
            }

            if (matches)
            {
                result.Add(Log(log));
            }
        }

        return result;
    }

    private static JsonObject Receipt(TransactionRecord record) => new()
    {
        ["transactionHash"] = record.Hash,
        ["blockNumber"] = Hex.EncodeQuantity(record.BlockNumber),
        ["blockHash"] = Hex.Encode(Keccak.Hash("mpp-test-block-" + record.BlockNumber)),
        ["from"] = record.From.Lower,
        ["status"] = record.Succeeded ? "0x1" : "0x0",
        ["type"] = "0x76",
        ["gasUsed"] = Hex.EncodeQuantity(50_000),
        ["effectiveGasPrice"] = Hex.EncodeQuantity(BaseFee + PriorityFee),
        ["logs"] = new JsonArray([.. record.Logs.Select(Log)]),
    };

    private static JsonObject Log(LogRecord log) => new()
    {
        ["address"] = log.Address.Lower,
        ["topics"] = new JsonArray([.. log.Topics.Select(t => (JsonNode)JsonValue.Create(t))]),
        ["data"] = log.Data,
        ["transactionHash"] = log.TransactionHash,
        ["blockNumber"] = Hex.EncodeQuantity(log.BlockNumber),
        ["logIndex"] = Hex.EncodeQuantity(log.LogIndex),
        ["removed"] = false,
    };

    private static JsonElement Arg(JsonElement[] parameters, int index)
        => index < parameters.Length ? parameters[index] : throw new RpcError(-32602, $"parameter {index} is missing");

    private static byte[] Error(JsonNode? id, int code, string message)
        => Serialize(new JsonObject { ["jsonrpc"] = "2.0", ["id"] = id, ["error"] = new JsonObject { ["code"] = code, ["message"] = message } });

    private static byte[] Serialize(JsonObject response) => JsonSerializer.SerializeToUtf8Bytes(response, TestingJsonContext.Default.JsonObject);

    private sealed class RpcError(int code, string message) : Exception(message)
    {
        public int Code { get; } = code;
    }
}
