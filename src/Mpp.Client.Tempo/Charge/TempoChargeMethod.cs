using System.Globalization;
using System.Numerics;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Mpp.Client.Protocol;
using Mpp.Client.Tempo.Evm;
using Mpp.Client.Tempo.Transactions;
using Nethereum.ABI.EIP712;

namespace Mpp.Client.Tempo.Charge;

/// <summary>
/// The Tempo charge method (<c>method="tempo"</c>, <c>intent="charge"</c>): one signed Tempo transaction
/// per paid call, byte-for-byte as the reference client builds it — <c>transferWithMemo</c> with the
/// challenge-bound attribution memo (plus one call per split), an expiring nonce, <c>validBefore</c> within
/// the challenge's expiry, gas and fees from the node, and the fee-payer hand-off form when the server
/// sponsors fees. Zero-amount challenges are answered with an EIP-712 proof.
/// </summary>
public sealed class TempoChargeMethod : IPaymentMethod
{
    private readonly TempoOptions _options;
    private readonly IEvmSigner _signer;
    private readonly TempoRpcClient _rpc;
    private readonly TimeProvider _time;
    private readonly Func<long, long> _chooseValidAfter;

    /// <summary>Initializes the method.</summary>
    /// <param name="options">Validated options.</param>
    /// <param name="rpcHttpClient">The HttpClient for the chain RPC (one without the payment handler).</param>
    /// <param name="timeProvider">The clock.</param>
    public TempoChargeMethod(TempoOptions options, HttpClient rpcHttpClient, TimeProvider timeProvider)
        : this(options, rpcHttpClient, timeProvider, RandomPastSecond)
    {
    }

    internal TempoChargeMethod(TempoOptions options, HttpClient rpcHttpClient, TimeProvider timeProvider, Func<long, long> chooseValidAfter)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(rpcHttpClient);
        ArgumentNullException.ThrowIfNull(timeProvider);
        _options = options;
        _signer = options.Signer ?? throw new PaymentConfigurationException("Tempo: a Signer is required.");
        _rpc = new TempoRpcClient(rpcHttpClient, options.RpcUrl ?? throw new PaymentConfigurationException("Tempo: RpcUrl is required."), options.RpcTimeout, options.RpcRetries, timeProvider);
        _time = timeProvider;
        _chooseValidAfter = chooseValidAfter;
    }

    /// <inheritdoc />
    public string Method => "tempo";

    /// <inheritdoc />
    public bool CanPay(PaymentChallenge challenge) => challenge is { Method: "tempo", Intent: "charge" };

    /// <inheritdoc />
    public ValueTask<PaymentQuote> QuoteAsync(PaymentChallenge challenge, PaymentContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(challenge);
        var request = ChargeRequest.Read(challenge);
        if (_options.ChainId is { } pinned && pinned != request.ChainId)
        {
            throw new PaymentDeniedException("tempo.chain", $"The challenge is for chain {request.ChainId}; this client is pinned to chain {pinned}.");
        }

        if (_options.AllowedCurrencies.Count > 0 && !_options.AllowedCurrencies.Any(c => EvmAddress.Parse(c) == request.Currency))
        {
            throw new PaymentDeniedException("tempo.currency", $"The token {request.Currency} is not in AllowedCurrencies.");
        }

        var recipients = new List<string> { request.Recipient.ToString() };
        recipients.AddRange(request.Splits.Select(s => s.Recipient.ToString()));
        var asset = AssetId.Token(request.ChainId, request.Currency.Lower);
        return ValueTask.FromResult(new PaymentQuote(challenge, new AssetAmount(asset, request.Amount), recipients, chainId: request.ChainId));
    }

    /// <inheritdoc />
    public async ValueTask<PaymentCredential> CreateCredentialAsync(PaymentQuote quote, PaymentContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(quote);
        var challenge = quote.Challenge;
        var request = ChargeRequest.Read(challenge);
        var source = $"did:pkh:eip155:{request.ChainId.ToString(CultureInfo.InvariantCulture)}:{_signer.Address}";
        if (request.Amount.IsZero)
        {
            return new PaymentCredential(challenge, await ProofPayloadAsync(challenge, request.ChainId, cancellationToken).ConfigureAwait(false), source);
        }

        var push = ChooseMode(request) == TempoChargeMode.Push;
        var now = _time.GetUtcNow().ToUnixTimeSeconds();
        var validBefore = now + 25;
        if (challenge.Expires is { } expires)
        {
            validBefore = Math.Min(validBefore, expires.ToUnixTimeSeconds());
        }

        if (validBefore <= now)
        {
            throw new PaymentDeniedException("policy.expired", "The challenge expires before a transaction could be valid.");
        }

        var calls = BuildCalls(challenge, request);
        var validAfter = _chooseValidAfter(now);
        var fill = TempoTransaction.FillRequest(_signer.Address, calls, validBefore, validAfter);
        var fees = await _rpc.FillAsync(fill, isCharge: true, cancellationToken).ConfigureAwait(false);
        await _rpc.EnsureChainAsync(request.ChainId, cancellationToken).ConfigureAwait(false);

        var transaction = new TempoTransaction
        {
            ChainId = request.ChainId,
            MaxPriorityFeePerGas = fees.MaxPriorityFeePerGas,
            MaxFeePerGas = fees.MaxFeePerGas,
            Gas = fees.Gas,
            Calls = calls,
            ValidBefore = validBefore,
            ValidAfter = validAfter,
            FeeToken = request.FeePayer ? null : fees.FeeToken,
            Sponsored = request.FeePayer,
        };
        var signature = await _signer.SignHashAsync(transaction.SigningHash(), cancellationToken).ConfigureAwait(false);
        var signed = transaction.Serialize(signature, _signer.Address);
        if (!push)
        {
            return new PaymentCredential(challenge, Payload(("signature", Hex.Encode(signed)), ("type", "transaction")), source);
        }

        var hash = await BroadcastAsync(signed, cancellationToken).ConfigureAwait(false);
        return new PaymentCredential(challenge, Payload(("hash", hash), ("type", "hash")), source);
    }

    /// <inheritdoc />
    public ValueTask OnSettledAsync(PaymentSettlement settlement, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    internal static long RandomPastSecond(long now)
    {
        // A random past second makes otherwise identical expiring-nonce transactions hash differently (protocol.md §3.4.3).
        if (now <= 60)
        {
            return 0;
        }

        var random = BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8));
        return (long)(random % (ulong)(now - 60));
    }

    private TempoChargeMode ChooseMode(ChargeRequest request)
    {
        var pullAllowed = request.SupportedModes is null || request.SupportedModes.Contains("pull");
        var pushAllowed = (request.SupportedModes is null || request.SupportedModes.Contains("push")) && !request.FeePayer;
        if (_options.Mode == TempoChargeMode.Push && pushAllowed)
        {
            return TempoChargeMode.Push;
        }

        if (pullAllowed)
        {
            return TempoChargeMode.Pull;
        }

        return pushAllowed ? TempoChargeMode.Push : throw new PaymentDeniedException("method.invalid-request", "The challenge allows no mode this client can use (push is forbidden with fee sponsorship).");
    }

    private List<TempoCall> BuildCalls(PaymentChallenge challenge, ChargeRequest request)
    {
        var memo = request.Memo ?? AttributionMemo.Create(challenge.Realm, challenge.Id, _options.ClientId);
        var primary = request.Amount - request.Splits.Aggregate(BigInteger.Zero, (sum, s) => sum + s.Amount);
        var calls = new List<TempoCall> { new(request.Currency, 0, Abi.TransferWithMemo(request.Recipient, primary, memo)) };
        foreach (var split in request.Splits)
        {
            calls.Add(new TempoCall(request.Currency, 0, split.Memo is { } splitMemo ? Abi.TransferWithMemo(split.Recipient, split.Amount, splitMemo) : Abi.Transfer(split.Recipient, split.Amount)));
        }

        return calls;
    }

    private async Task<string> BroadcastAsync(byte[] signed, CancellationToken cancellationToken)
    {
        string hash;
        try
        {
            hash = await _rpc.SendRawTransactionAsync(signed, cancellationToken).ConfigureAwait(false);
        }
        catch (TempoRpcException ex) when (ex.Code is null)
        {
            throw new PaymentOutcomeUnknownException($"Broadcasting the payment transaction failed in transit ({ex.Message}); it may have reached the chain.", Guid.Empty, "(push)", ex);
        }

        try
        {
            var receipt = await _rpc.WaitForReceiptAsync(hash, _options.ReceiptTimeout, cancellationToken).ConfigureAwait(false);
            if (!RpcAnswer.Succeeded(receipt))
            {
                throw new PaymentDeniedException("tempo.reverted", $"The payment transaction {hash} reverted on chain; nothing was transferred.");
            }
        }
        catch (TempoRpcException ex)
        {
            throw new PaymentOutcomeUnknownException($"The payment transaction {hash} was broadcast but its receipt could not be read ({ex.Message}).", Guid.Empty, "(push)", ex);
        }

        return hash;
    }

    private async Task<JsonElement> ProofPayloadAsync(PaymentChallenge challenge, long chainId, CancellationToken cancellationToken)
    {
        // EIP-712 v3 as mppx 0.11 verifies it (protocol.md §3.2.4).
        var typed = ZeroAmountProof.TypedData(chainId, _signer.Address, challenge.Id, challenge.Realm);
        var digest = ZeroAmountProof.Digest(typed);
        var signature = await _signer.SignHashAsync(digest, cancellationToken).ConfigureAwait(false);
        return Payload(("signature", Hex.Encode(signature.ToRsv())), ("type", "proof"));
    }

    private static JsonElement Payload(params (string Name, string Value)[] members)
    {
        var obj = new JsonObject();
        foreach (var (name, value) in members)
        {
            obj[name] = value;
        }

        return JsonSerializer.SerializeToElement(obj);
    }
}

/// <summary>
/// The zero-amount proof's EIP-712 typed data (domain <c>MPP</c> version <c>3</c>, <c>Proof(address account,string
/// challengeId,string realm)</c>, what mppx 0.11 verifies), encoded and hashed by Nethereum.Signer.EIP712's encoder.
/// </summary>
internal static class ZeroAmountProof
{
    public static TypedDataRaw TypedData(long chainId, EvmAddress account, string challengeId, string realm) => new()
    {
        Types = new Dictionary<string, MemberDescription[]>(StringComparer.Ordinal)
        {
            ["EIP712Domain"] = [new() { Name = "name", Type = "string" }, new() { Name = "version", Type = "string" }, new() { Name = "chainId", Type = "uint256" }],
            ["Proof"] = [new() { Name = "account", Type = "address" }, new() { Name = "challengeId", Type = "string" }, new() { Name = "realm", Type = "string" }],
        },
        PrimaryType = "Proof",
        DomainRawValues =
        [
            new() { TypeName = "string", Value = "MPP" },
            new() { TypeName = "string", Value = "3" },
            new() { TypeName = "uint256", Value = new BigInteger(chainId) },
        ],
        Message =
        [
            new() { TypeName = "address", Value = account.ToString() },
            new() { TypeName = "string", Value = challengeId },
            new() { TypeName = "string", Value = realm },
        ],
    };

    public static byte[] Digest(TypedDataRaw typedData) => Keccak.Hash(Eip712TypedDataEncoder.Current.EncodeTypedDataRaw(typedData));
}

/// <summary>A Tempo charge request, validated.</summary>
internal sealed record ChargeRequest(BigInteger Amount, EvmAddress Currency, EvmAddress Recipient, long ChainId, bool FeePayer, byte[]? Memo, IReadOnlyList<ChargeSplit> Splits, IReadOnlyList<string>? SupportedModes)
{
    public static ChargeRequest Read(PaymentChallenge challenge)
    {
        var request = challenge.Request;
        var amountText = String(request, "amount");
        if (!AssetAmount.TryParseUnits(amountText, out var amount) || amount >= BigInteger.One << 256)
        {
            throw Invalid($"'amount' must be an integer of token base units; got '{amountText}'.");
        }

        if (!EvmAddress.TryParse(String(request, "currency"), out var currency))
        {
            throw Invalid("'currency' must be a token address.");
        }

        if (!EvmAddress.TryParse(String(request, "recipient"), out var recipient))
        {
            throw Invalid("'recipient' must be an address.");
        }

        var chainId = DefaultChain;
        var feePayer = false;
        byte[]? memo = null;
        var splits = new List<ChargeSplit>();
        List<string>? modes = null;
        if (request.TryGetProperty("methodDetails", out var details))
        {
            if (details.ValueKind != JsonValueKind.Object)
            {
                throw Invalid("'methodDetails' must be an object.");
            }

            if (details.TryGetProperty("chainId", out var chain))
            {
                if (chain.ValueKind != JsonValueKind.Number || !chain.TryGetInt64(out chainId) || chainId <= 0)
                {
                    throw Invalid("'methodDetails.chainId' must be a positive integer.");
                }
            }

            if (details.TryGetProperty("feePayer", out var sponsor))
            {
                feePayer = sponsor.ValueKind switch
                {
                    JsonValueKind.True => true,
                    JsonValueKind.False => false,
                    _ => throw Invalid("'methodDetails.feePayer' must be a boolean."),
                };
            }

            if (details.TryGetProperty("memo", out var memoJson))
            {
                memo = ReadMemo(memoJson, "methodDetails.memo");
            }

            if (details.TryGetProperty("splits", out var splitsJson))
            {
                if (splitsJson.ValueKind != JsonValueKind.Array || splitsJson.GetArrayLength() is 0 or > 10)
                {
                    throw Invalid("'methodDetails.splits' must be an array of 1 to 10 splits.");
                }

                foreach (var split in splitsJson.EnumerateArray())
                {
                    if (split.ValueKind != JsonValueKind.Object || !AssetAmount.TryParseUnits(String(split, "amount"), out var splitAmount) || splitAmount.IsZero || !EvmAddress.TryParse(String(split, "recipient"), out var splitRecipient))
                    {
                        throw Invalid("each split needs a positive 'amount' and a 'recipient' address.");
                    }

                    splits.Add(new ChargeSplit(splitAmount, splitRecipient, split.TryGetProperty("memo", out var m) ? ReadMemo(m, "split memo") : null));
                }

                if (splits.Aggregate(BigInteger.Zero, (sum, s) => sum + s.Amount) >= amount)
                {
                    throw Invalid("the splits add up to the whole amount or more; the primary recipient must get something.");
                }
            }

            if (details.TryGetProperty("supportedModes", out var modesJson))
            {
                if (modesJson.ValueKind != JsonValueKind.Array || modesJson.EnumerateArray().Any(m => m.ValueKind != JsonValueKind.String))
                {
                    throw Invalid("'methodDetails.supportedModes' must be an array of strings.");
                }

                modes = [.. modesJson.EnumerateArray().Select(m => m.GetString()!)];
            }
        }

        return new ChargeRequest(amount, currency, recipient, chainId, feePayer, memo, splits, modes);
    }

    // The draft's default when methodDetails.chainId is absent.
    private const long DefaultChain = 42431;

    private static string? String(JsonElement obj, string name) => obj.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static byte[] ReadMemo(JsonElement value, string what)
        => value.ValueKind == JsonValueKind.String && Hex.TryDecode(value.GetString(), out var bytes) && bytes.Length == 32 ? bytes : throw Invalid($"'{what}' must be 32 bytes of 0x hex.");

    private static PaymentDeniedException Invalid(string reason) => new("method.invalid-request", "The Tempo charge request is invalid: " + reason);
}

/// <summary>One split of a Tempo charge.</summary>
internal sealed record ChargeSplit(BigInteger Amount, EvmAddress Recipient, byte[]? Memo);
