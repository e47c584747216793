using System.Numerics;
using System.Text.Json;
using Mpp.Client.Protocol;

namespace Mpp.Client.Tempo.Sessions;

/// <summary>A Tempo session request (protocol.md §3.3.4), validated. Addresses keep the challenge's spelling for echoing.</summary>
internal sealed record SessionRequest(
    BigInteger Price,
    string? UnitType,
    BigInteger? SuggestedDeposit,
    EvmAddress Currency,
    string CurrencyText,
    EvmAddress Recipient,
    string RecipientText,
    EvmAddress Escrow,
    long ChainId,
    bool FeePayer,
    EvmAddress? FeeToken,
    EvmAddress Operator,
    string OperatorText,
    BigInteger? MinVoucherDelta)
{
    /// <summary>The TIP-1034 channel escrow precompile, the only escrow accepted unless configured.</summary>
    public static readonly EvmAddress CanonicalEscrow = EvmAddress.Parse("0x4d50500000000000000000000000000000000000");

    private const string ZeroAddress = "0x0000000000000000000000000000000000000000";

    public static SessionRequest Read(PaymentChallenge challenge)
    {
        var request = challenge.Request;
        var price = Units(request, "amount", required: true) ?? 0;
        if (price.IsZero)
        {
            throw Invalid("'amount' (the price per unit) must be positive.");
        }

        var suggested = Units(request, "suggestedDeposit", required: false);
        var currencyText = String(request, "currency");
        if (!EvmAddress.TryParse(currencyText, out var currency))
        {
            throw Invalid("'currency' must be a token address.");
        }

        var recipientText = String(request, "recipient");
        if (!EvmAddress.TryParse(recipientText, out var recipient) || recipient == default(EvmAddress))
        {
            throw Invalid("'recipient' must be a non-zero address.");
        }

        if (!request.TryGetProperty("methodDetails", out var details) || details.ValueKind != JsonValueKind.Object)
        {
            throw Invalid("'methodDetails' (escrow, chain id, protocol) is required.");
        }

        var protocol = String(details, "sessionProtocol");
        if (protocol != "v2")
        {
            throw new PaymentDeniedException("tempo.session-protocol", $"The session protocol '{protocol ?? "v1 (absent)"}' is not supported; this client speaks v2 (the TIP-1034 channel escrow).");
        }

        if (!EvmAddress.TryParse(String(details, "escrowContract"), out var escrow))
        {
            throw Invalid("'methodDetails.escrowContract' must be an address.");
        }

        if (!details.TryGetProperty("chainId", out var chain) || chain.ValueKind != JsonValueKind.Number || !chain.TryGetInt64(out var chainId) || chainId <= 0)
        {
            throw Invalid("'methodDetails.chainId' must be a positive integer (required for v2).");
        }

        var feePayer = details.TryGetProperty("feePayer", out var sponsor) && sponsor.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Invalid("'methodDetails.feePayer' must be a boolean."),
        };

        EvmAddress? feeToken = null;
        if (details.TryGetProperty("feeToken", out var feeTokenJson))
        {
            feeToken = feeTokenJson.ValueKind == JsonValueKind.String && EvmAddress.TryParse(feeTokenJson.GetString(), out var parsedFeeToken) ? parsedFeeToken : throw Invalid("'methodDetails.feeToken' must be a token address.");
        }

        var operatorText = ZeroAddress;
        var operatorAddress = default(EvmAddress);
        if (details.TryGetProperty("operator", out var operatorJson))
        {
            operatorText = operatorJson.ValueKind == JsonValueKind.String && EvmAddress.TryParse(operatorJson.GetString(), out operatorAddress) ? operatorJson.GetString()! : throw Invalid("'methodDetails.operator' must be an address.");
        }

        var minDelta = Units(details, "minVoucherDelta", required: false);
        return new SessionRequest(price, String(request, "unitType"), suggested, currency, currencyText!, recipient, recipientText!, escrow, chainId, feePayer, feeToken, operatorAddress, operatorText, minDelta);
    }

    /// <summary>The voucher increment of one unit: the price, or the server's minimum delta when that is larger.</summary>
    public BigInteger Increment => MinVoucherDelta is { } min && min > Price ? min : Price;

    private static BigInteger? Units(JsonElement obj, string name, bool required)
    {
        if (!obj.TryGetProperty(name, out var value))
        {
            return required ? throw Invalid($"'{name}' is required.") : null;
        }

        if (value.ValueKind != JsonValueKind.String || !AssetAmount.TryParseUnits(value.GetString(), out var units) || units > Voucher.MaxAmount)
        {
            throw Invalid($"'{name}' must be a decimal string of token base units below 2^96.");
        }

        return units;
    }

    private static string? String(JsonElement obj, string name) => obj.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static PaymentDeniedException Invalid(string reason) => new("method.invalid-request", "The Tempo session request is invalid: " + reason);
}
