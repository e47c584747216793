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
        => RpcAnswer.Int64(await CallAsync("eth_chainId", [], cancellationToken).ConfigureAwait(false), "eth_chainId", "chain id");

    /// <summary><c>eth_fillTransaction</c>, or the viem-style fallback on nodes without it (protocol.md §3.4.4).</summary>
    public async Task<FilledFees> FillAsync(JsonObject transaction, bool isCharge, CancellationToken cancellationToken)
    {
        if (!_fillUnsupported)
        {
            try
            {
                var result = await CallAsync("eth_fillTransaction", [transaction.DeepClone()], cancellationToken).ConfigureAwait(false);
                return RpcAnswer.FilledFees(result, isCharge);
            }
            catch (TempoRpcException ex) when (ex.Code == -32601 || ex.Message.Contains("not supported", StringComparison.OrdinalIgnoreCase) || ex.Message.Contains("eth_fillTransaction is not available", StringComparison.OrdinalIgnoreCase))
            {
                _fillUnsupported = true;
            }
        }

        var block = await CallAsync("eth_getBlockByNumber", ["latest", false], cancellationToken).ConfigureAwait(false);
        var baseFee = RpcAnswer.Quantity(RpcAnswer.Member(block, "baseFeePerGas", "eth_getBlockByNumber"), "eth_getBlockByNumber", "baseFeePerGas");
        BigInteger tip;
        try
        {
            tip = await QuantityAsync("eth_maxPriorityFeePerGas", [], cancellationToken).ConfigureAwait(false);
        }
        catch (TempoRpcException)
        {
            var price = await QuantityAsync("eth_gasPrice", [], cancellationToken).ConfigureAwait(false);
            tip = BigInteger.Max(BigInteger.Zero, price - baseFee);
        }

        var estimate = await QuantityAsync("eth_estimateGas", [transaction.DeepClone()], cancellationToken).ConfigureAwait(false);
        return new FilledFees(estimate + (isCharge ? 5000 : 0), (baseFee * 12 / 10) + tip, tip, null);
    }

    public async Task<string> SendRawTransactionAsync(byte[] raw, CancellationToken cancellationToken)
        => RpcAnswer.Text(await CallAsync("eth_sendRawTransaction", [Hex.Encode(raw)], cancellationToken).ConfigureAwait(false), "eth_sendRawTransaction", "transaction hash");

    public async Task<JsonElement?> GetTransactionReceiptAsync(string hash, CancellationToken cancellationToken)
        => RpcAnswer.Receipt(await CallAsync("eth_getTransactionReceipt", [hash], cancellationToken).ConfigureAwait(false));

    /// <summary>The latest block's timestamp (chain time, in seconds).</summary>
    public async Task<long> LatestBlockTimestampAsync(CancellationToken cancellationToken)
    {
        var block = await CallAsync("eth_getBlockByNumber", ["latest", false], cancellationToken).ConfigureAwait(false);
        return RpcAnswer.Int64(RpcAnswer.Member(block, "timestamp", "eth_getBlockByNumber"), "eth_getBlockByNumber", "timestamp");
    }

    /// <summary><c>eth_call</c> at the latest block: the returned bytes.</summary>
    public async Task<byte[]> EthCallAsync(JsonObject call, CancellationToken cancellationToken)
        => RpcAnswer.Data(await CallAsync("eth_call", [call, "latest"], cancellationToken).ConfigureAwait(false), "eth_call", "return data");

    /// <summary><c>eth_getLogs</c>: the hashes of the transactions that emitted the matching logs.</summary>
    public async Task<IReadOnlyList<string>> LogTransactionHashesAsync(JsonObject filter, CancellationToken cancellationToken)
        => RpcAnswer.LogTransactionHashes(await CallAsync("eth_getLogs", [filter], cancellationToken).ConfigureAwait(false));

    private async Task<BigInteger> QuantityAsync(string method, JsonNode?[] parameters, CancellationToken cancellationToken)
        => RpcAnswer.Quantity(await CallAsync(method, parameters, cancellationToken).ConfigureAwait(false), method, "result");

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

                    return RpcAnswer.ReadResult(await ReadBoundedAsync(response, state.Method, token).ConfigureAwait(false), state.Method);
                },
                (Client: this, Request: request, Method: method),
                cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is HttpRequestException or TimeoutRejectedException or IOException)
        {
            throw new TempoRpcException(method, null, $"The chain RPC at {_endpoint.GetLeftPart(UriPartial.Authority)} failed on {method}: {ex.Message}", ex);
        }
    }

    /// <summary>The answer body, refused past <see cref="RpcAnswer.MaxAnswerBytes"/> without reading further.</summary>
    private static async Task<byte[]> ReadBoundedAsync(HttpResponseMessage response, string method, CancellationToken cancellationToken)
    {
        if (response.Content.Headers.ContentLength > RpcAnswer.MaxAnswerBytes)
        {
            throw new TempoRpcException(method, null, $"The chain RPC answered {method} with more than {RpcAnswer.MaxAnswerBytes} bytes.");
        }

        var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (body.ConfigureAwait(false))
        {
            using var buffer = new MemoryStream();
            var chunk = new byte[16 * 1024];
            int read;
            while ((read = await body.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
            {
                if (buffer.Length + read > RpcAnswer.MaxAnswerBytes)
                {
                    throw new TempoRpcException(method, null, $"The chain RPC answered {method} with more than {RpcAnswer.MaxAnswerBytes} bytes.");
                }

                buffer.Write(chunk, 0, read);
            }

            return buffer.ToArray();
        }
    }
}
