using System.Net.Http.Json;
using System.Numerics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Mpp.Client.Tempo.Evm;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace Mpp.Client.Tempo;

/// <summary>A JSON-RPC error from the chain node, or a transport failure talking to it. Messages never hold keys or signed transactions.</summary>
public sealed class TempoRpcException : MppException
{
    /// <summary>Initializes a new instance.</summary>
    /// <param name="method">The RPC method.</param>
    /// <param name="code">The JSON-RPC error code, when the node answered with one.</param>
    /// <param name="message">The explanation.</param>
    /// <param name="innerException">The transport failure, if any.</param>
    public TempoRpcException(string method, int? code, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Method = method;
        Code = code;
    }

    /// <summary>Gets the RPC method that failed.</summary>
    public string Method { get; }

    /// <summary>Gets the JSON-RPC error code, or <see langword="null"/> for a transport failure.</summary>
    public int? Code { get; }
}

/// <summary>Gas, fees and fee token for a transaction, as the node filled them.</summary>
internal sealed record FilledFees(BigInteger Gas, BigInteger MaxFeePerGas, BigInteger MaxPriorityFeePerGas, EvmAddress? FeeToken);

/// <summary>
/// The few JSON-RPC calls a Tempo payment needs, with per-attempt timeouts and retries of transient
/// failures (all of them are safe to repeat: reads, and broadcasts keyed by transaction hash).
/// </summary>
internal sealed class TempoRpcClient
{
    private long _verifiedChainId;
    private readonly HttpClient _http;
    private readonly Uri _endpoint;
    private readonly ResiliencePipeline _pipeline;
    private readonly TimeProvider _time;
    private long _id;
    private volatile bool _fillUnsupported;

    public TempoRpcClient(HttpClient http, Uri endpoint, TimeSpan attemptTimeout, int retries, TimeProvider time)
    {
        _http = http;
        _endpoint = endpoint;
        _time = time;
        var builder = new ResiliencePipelineBuilder { TimeProvider = time };
        if (retries > 0)
        {
            builder.AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = retries,
                Delay = TimeSpan.FromMilliseconds(100),
                BackoffType = DelayBackoffType.Exponential,
                ShouldHandle = new PredicateBuilder().Handle<HttpRequestException>().Handle<TimeoutRejectedException>(),
            });
        }

        _pipeline = builder.AddTimeout(attemptTimeout).Build();
    }

    /// <summary>Checks once per chain id that the endpoint serves <paramref name="chainId"/>, before anything is signed for it.</summary>
    public async Task EnsureChainAsync(long chainId, CancellationToken cancellationToken)
    {
        if (Interlocked.Read(ref _verifiedChainId) == chainId)
        {
            return;
        }

        var served = await ChainIdAsync(cancellationToken).ConfigureAwait(false);
        if (served != chainId)
        {
            throw new PaymentDeniedException("tempo.chain", $"The RPC endpoint serves chain {served}, not the challenge's chain {chainId}; nothing was signed.");
        }

        Interlocked.Exchange(ref _verifiedChainId, chainId);
    }

    public async Task<long> ChainIdAsync(CancellationToken cancellationToken)
    {
        var result = await CallAsync("eth_chainId", [], cancellationToken).ConfigureAwait(false);
        return (long)Hex.DecodeQuantity(result.GetString()!);
    }

    /// <summary><c>eth_fillTransaction</c>, or the viem-style fallback on nodes without it (protocol.md §3.4.4).</summary>
    public async Task<FilledFees> FillAsync(JsonObject transaction, bool isCharge, CancellationToken cancellationToken)
    {
        if (!_fillUnsupported)
        {
            try
            {
                var result = await CallAsync("eth_fillTransaction", [transaction.DeepClone()], cancellationToken).ConfigureAwait(false);
                var tx = result.GetProperty("tx");
                var gas = Hex.DecodeQuantity(tx.GetProperty("gas").GetString()!);
                var maxFee = Hex.DecodeQuantity(tx.GetProperty("maxFeePerGas").GetString()!);
                var priority = Hex.DecodeQuantity(tx.GetProperty("maxPriorityFeePerGas").GetString()!);
                EvmAddress? feeToken = tx.TryGetProperty("feeToken", out var token) && token.ValueKind == JsonValueKind.String ? EvmAddress.Parse(token.GetString()!) : null;

                // viem's base-fee multiplier (×1.2), and mppx's +5,000 gas on charges for signature verification.
                return new FilledFees(gas + (isCharge ? 5000 : 0), maxFee * 12 / 10, priority, feeToken);
            }
            catch (TempoRpcException ex) when (ex.Code == -32601 || ex.Message.Contains("not supported", StringComparison.OrdinalIgnoreCase) || ex.Message.Contains("eth_fillTransaction is not available", StringComparison.OrdinalIgnoreCase))
            {
                _fillUnsupported = true;
            }
        }

        var block = await CallAsync("eth_getBlockByNumber", ["latest", false], cancellationToken).ConfigureAwait(false);
        var baseFee = Hex.DecodeQuantity(block.GetProperty("baseFeePerGas").GetString()!);
        BigInteger tip;
        try
        {
            tip = Hex.DecodeQuantity((await CallAsync("eth_maxPriorityFeePerGas", [], cancellationToken).ConfigureAwait(false)).GetString()!);
        }
        catch (TempoRpcException)
        {
            var price = Hex.DecodeQuantity((await CallAsync("eth_gasPrice", [], cancellationToken).ConfigureAwait(false)).GetString()!);
            tip = BigInteger.Max(BigInteger.Zero, price - baseFee);
        }

        var estimate = Hex.DecodeQuantity((await CallAsync("eth_estimateGas", [transaction.DeepClone()], cancellationToken).ConfigureAwait(false)).GetString()!);
        return new FilledFees(estimate + (isCharge ? 5000 : 0), (baseFee * 12 / 10) + tip, tip, null);
    }

    public async Task<string> SendRawTransactionAsync(byte[] raw, CancellationToken cancellationToken)
        => (await CallAsync("eth_sendRawTransaction", [Hex.Encode(raw)], cancellationToken).ConfigureAwait(false)).GetString()!;

    public async Task<JsonElement?> GetTransactionReceiptAsync(string hash, CancellationToken cancellationToken)
    {
        var result = await CallAsync("eth_getTransactionReceipt", [hash], cancellationToken).ConfigureAwait(false);
        return result.ValueKind == JsonValueKind.Null ? null : result;
    }

    public async Task<JsonElement> WaitForReceiptAsync(string hash, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var started = _time.GetTimestamp();
        while (true)
        {
            if (await GetTransactionReceiptAsync(hash, cancellationToken).ConfigureAwait(false) is { } receipt)
            {
                return receipt;
            }

            if (_time.GetElapsedTime(started) > timeout)
            {
                throw new TempoRpcException("eth_getTransactionReceipt", null, $"No receipt for transaction {hash} within {timeout.TotalSeconds} s.");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(200), _time, cancellationToken).ConfigureAwait(false);
        }
    }

    private static string? Truncate(string? message) => message is { Length: > 200 } ? message[..200] + "…" : message;

    public async Task<JsonElement> CallAsync(string method, JsonNode?[] parameters, CancellationToken cancellationToken)
    {
        var request = new JsonObject
        {
            ["jsonrpc"] = "2.0",
            ["id"] = Interlocked.Increment(ref _id),
            ["method"] = method,
            ["params"] = new JsonArray(parameters),
        };
        try
        {
            return await _pipeline.ExecuteAsync(
                static async (state, token) =>
                {
                    using var response = await state.Client._http.PostAsJsonAsync(state.Client._endpoint, state.Request, token).ConfigureAwait(false);
                    if ((int)response.StatusCode >= 500 || (int)response.StatusCode == 429)
                    {
                        throw new HttpRequestException($"The chain RPC answered HTTP {(int)response.StatusCode}.", null, response.StatusCode);
                    }

                    var body = await response.Content.ReadAsByteArrayAsync(token).ConfigureAwait(false);
                    using var document = JsonDocument.Parse(body);
                    var root = document.RootElement;
                    if (root.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.Object)
                    {
                        var code = error.TryGetProperty("code", out var c) && c.TryGetInt32(out var n) ? n : (int?)null;
                        var message = error.TryGetProperty("message", out var m) ? m.GetString() : null;
                        throw new TempoRpcException(state.Method, code, $"The chain RPC refused {state.Method}: {Truncate(message) ?? "(no message)"} (code {code?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none"}).");
                    }

                    return root.TryGetProperty("result", out var result) ? result.Clone() : throw new TempoRpcException(state.Method, null, $"The chain RPC answered {state.Method} without a result.");
                },
                (Client: this, Request: request, Method: method),
                cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is HttpRequestException or TimeoutRejectedException or JsonException)
        {
            throw new TempoRpcException(method, null, $"The chain RPC at {_endpoint.GetLeftPart(UriPartial.Authority)} failed on {method}: {ex.Message}", ex);
        }
    }
}
