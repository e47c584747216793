using System.Globalization;
using System.Numerics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Mpp.Client.Protocol;
using Mpp.Client.Tempo;
using Mpp.Client.Tempo.Evm;
using Mpp.Client.Tempo.Transactions;
using Mpp.Client.Testing.Chain;
using Nethereum.RLP;

/// <summary>
/// The Tempo server-role operations, played by the test kit: receipt verification (push mode) and the fee payer's
/// policy check and co-signature. The adapter only turns the vector's JSON into what a client would send (the signed
/// <c>0x78</c> envelope, hostile fields included) and the kit's answer back into JSON.
/// </summary>
internal static class TempoOperations
{
    /// <summary><c>tempo.receipt.verify</c>: <c>{credential, receipt}</c> → <c>{status, reference}</c>.</summary>
    public static JsonNode VerifyReceipt(JsonElement input)
    {
        var credential = Member(input, "credential");
        var challenge = PaymentChallenge.FromJson(Member(credential, "challenge"));
        var payload = Member(credential, "payload");
        if (Text(payload, "type") != "hash")
        {
            throw new FormatException("Only a transaction-hash credential is verified against a receipt.");
        }

        var reference = TempoPaymentRules.VerifyReceipt(challenge, Text(payload, "hash"), Member(input, "receipt"));
        return new JsonObject { ["status"] = "success", ["reference"] = reference };
    }

    /// <summary><c>tempo.fee_payer.cosign</c>: the payer signs the vector's transaction and sends the 0x78 envelope; the kit's sponsor checks and co-signs it.</summary>
    public static JsonNode Cosign(JsonElement input)
    {
        using var payer = PrivateKeySigner.FromHex(Text(input, "payerPrivateKey"));
        using var feePayer = PrivateKeySigner.FromHex(Text(input, "feePayerPrivateKey"));
        var feeToken = EvmAddress.Parse(Text(input, "feeToken"));
        PaymentChallenge? challenge = null;
        if (input.TryGetProperty("challenge", out var challengeJson) && challengeJson.ValueKind == JsonValueKind.Object)
        {
            challenge = PaymentChallenge.Create(Text(challengeJson, "id"), Text(challengeJson, "realm"), Text(challengeJson, "method"), Text(challengeJson, "intent"), Member(challengeJson, "request"), null);
        }

        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var envelope = Envelope(Member(input, "transaction"), payer, now);
        if (!SignedTempoTransaction.TryDecode(Hex.Encode(envelope), out var decoded, out var error))
        {
            throw new FormatException(error);
        }

        var expected = TempoPaymentRules.Expected(TempoPaymentRules.ReadRequest(Member(input, "request"), challenge));
        var cosigned = TempoSponsor.CosignAsync(decoded!, expected, challenge, feeToken, feePayer, now, CancellationToken.None).GetAwaiter().GetResult();

        var fields = RlpReader.Decode(cosigned.AsSpan(1)).Items;
        return new JsonObject
        {
            ["type"] = "0x" + cosigned[0].ToString("x2", CultureInfo.InvariantCulture),
            ["feeToken"] = EvmAddress.FromBytes(fields[10].Payload).Lower,
            ["feePayerSignaturePresent"] = fields[11].IsList && fields[11].Items.Count == 3,
            ["accessListLength"] = fields[5].Items.Count,
            ["callCount"] = fields[4].Items.Count,
        };
    }

    /// <summary>
    /// The vector's transaction as a sponsored client sends it (protocol.md §3.4.2): the sender signs form A (fee token
    /// empty, fee-payer slot 0x00) and sends form B (0x78, its address in the fee-payer slot). The fields are taken as the
    /// vector gives them, so a hostile envelope (a fee token, an access list, another nonce key) reaches the sponsor.
    /// </summary>
    private static byte[] Envelope(JsonElement tx, PrivateKeySigner payer, long now)
    {
        var calls = Member(tx, "calls").EnumerateArray()
            .Select(c => RLP.EncodeList(RLP.EncodeElement(EvmAddress.Parse(Text(c, "to")).ToBytes()), TempoTransaction.Integer(Integer(Member(c, "value"), now)), RLP.EncodeElement(Hex.Decode(Text(c, "data")))))
            .ToArray();
        var accessList = Member(tx, "accessList").EnumerateArray()
            .Select(entry => RLP.EncodeList(
                RLP.EncodeElement(EvmAddress.Parse(entry[0].GetString()!).ToBytes()),
                RLP.EncodeList([.. entry[1].EnumerateArray().Select(slot => RLP.EncodeElement(Hex.Decode(slot.GetString()!)))])))
            .ToArray();
        byte[][] common =
        [
            TempoTransaction.Integer(Integer(Member(tx, "chainId"), now)),
            TempoTransaction.Integer(Integer(Member(tx, "maxPriorityFeePerGas"), now)),
            TempoTransaction.Integer(Integer(Member(tx, "maxFeePerGas"), now)),
            TempoTransaction.Integer(Integer(Member(tx, "gasLimit"), now)),
            RLP.EncodeList(calls),
            RLP.EncodeList(accessList),
            TempoTransaction.Integer(Integer(Member(tx, "nonceKey"), now)),
            TempoTransaction.Integer(Integer(Member(tx, "nonce"), now)),
            TempoTransaction.Integer(Integer(Member(tx, "validBefore"), now)),
            TempoTransaction.Integer(tx.TryGetProperty("validAfter", out var validAfter) && validAfter.ValueKind != JsonValueKind.Null ? Integer(validAfter, now) : 0),
        ];
        var feeToken = tx.TryGetProperty("feeToken", out var token) && token.ValueKind == JsonValueKind.String ? EvmAddress.Parse(token.GetString()!).ToBytes() : [];
        var senderPreimage = (byte[])[0x76, .. RLP.EncodeList([.. common, RLP.EncodeElement([]), RLP.EncodeElement([0x00]), TempoTransaction.EmptyList])];
        var signature = payer.SignHashAsync(Keccak.Hash(senderPreimage), CancellationToken.None).AsTask().GetAwaiter().GetResult();
        return [0x78, .. RLP.EncodeList([.. common, RLP.EncodeElement(feeToken), RLP.EncodeElement(payer.Address.ToBytes()), TempoTransaction.EmptyList, RLP.EncodeElement(signature.ToRsv())])];
    }

    /// <summary>A number, a decimal or 0x string, <c>"max"</c> (2^256 − 1) or <c>"now+N"</c> (seconds from now).</summary>
    private static BigInteger Integer(JsonElement value, long now)
    {
        if (value.ValueKind == JsonValueKind.Number)
        {
            return BigInteger.Parse(value.GetRawText(), NumberStyles.None, CultureInfo.InvariantCulture);
        }

        var text = value.GetString() ?? throw new AdapterInputException("a transaction field is neither a number nor a string");
        return text switch
        {
            "max" => TempoTransaction.ExpiringNonceKey,
            _ when text.StartsWith("now+", StringComparison.Ordinal) => now + long.Parse(text.AsSpan(4), NumberStyles.None, CultureInfo.InvariantCulture),
            _ when text.StartsWith("0x", StringComparison.Ordinal) => Hex.DecodeQuantity(text),
            _ => BigInteger.Parse(text, NumberStyles.None, CultureInfo.InvariantCulture),
        };
    }

    private static JsonElement Member(JsonElement obj, string name)
        => obj.ValueKind == JsonValueKind.Object && obj.TryGetProperty(name, out var value) ? value : throw new AdapterInputException($"input is missing '{name}'");

    private static string Text(JsonElement obj, string name)
        => Member(obj, name) is { ValueKind: JsonValueKind.String } value ? value.GetString()! : throw new AdapterInputException($"'{name}' must be a string");
}
