using System.Text.Json.Nodes;
using System.Numerics;
using Mpp.Client.Tempo.Evm;

namespace Mpp.Client.Tempo.Transactions;

/// <summary>One call of a Tempo transaction.</summary>
internal sealed record TempoCall(EvmAddress To, BigInteger Value, byte[] Data);

/// <summary>
/// A Tempo transaction (type <c>0x76</c>) as mppx 0.11 builds it (protocol.md §3.4): expiring nonce,
/// calls, optional fee token, and — when a server sponsors the fees — the fee-payer placeholder in what
/// the sender signs and the <c>0x78</c> hand-off form in what it sends.
/// </summary>
internal sealed class TempoTransaction
{
    /// <summary>The expiring-nonce lane (TIP-1009): 2^256 − 1.</summary>
    public static readonly BigInteger ExpiringNonceKey = (BigInteger.One << 256) - 1;

    public required long ChainId { get; init; }

    public required BigInteger MaxPriorityFeePerGas { get; init; }

    public required BigInteger MaxFeePerGas { get; init; }

    public required BigInteger Gas { get; init; }

    public required IReadOnlyList<TempoCall> Calls { get; init; }

    public BigInteger NonceKey { get; init; } = ExpiringNonceKey;

    public BigInteger Nonce { get; init; }

    public required long ValidBefore { get; init; }

    public required long ValidAfter { get; init; }

    /// <summary>The fee token, or null to leave the slot empty (always empty when <see cref="Sponsored"/>).</summary>
    public EvmAddress? FeeToken { get; init; }

    /// <summary>Whether a fee payer (the server) co-signs and pays the fees.</summary>
    public bool Sponsored { get; init; }

    /// <summary>
    /// The <c>eth_fillTransaction</c> request the reference client sends for an expiring-nonce transaction (protocol.md
    /// §3.4.4): sender, calls and validity window, no gas or fee fields. Callers add <c>feeToken</c>/<c>feePayer</c>.
    /// </summary>
    public static JsonObject FillRequest(EvmAddress from, IEnumerable<TempoCall> calls, long validBefore, long validAfter) => new()
    {
        ["from"] = from.ToString(),
        ["nonce"] = "0x0",
        ["type"] = "0x76",
        ["calls"] = new JsonArray([.. calls.Select(c => new JsonObject { ["to"] = c.To.Lower, ["value"] = "0x", ["data"] = Hex.Encode(c.Data) })]),
        ["validBefore"] = Hex.EncodeQuantity(validBefore),
        ["validAfter"] = Hex.EncodeQuantity(validAfter),
        ["nonceKey"] = Hex.EncodeQuantity(ExpiringNonceKey),
    };

    /// <summary>What the sender signs: <c>0x76 ‖ rlp(fields)</c> without a signature.</summary>
    public byte[] EncodeForSigning()
        => [0x76, .. Rlp.List([.. CommonFields(), FeeTokenItem(), Sponsored ? Rlp.String([0x00]) : Rlp.String([]), Rlp.List()])];

    /// <summary>keccak256 of <see cref="EncodeForSigning"/>.</summary>
    public byte[] SigningHash() => Keccak.Hash(EncodeForSigning());

    /// <summary>
    /// The signed transaction as the client sends it: <c>0x76</c> with the signature; when sponsored, the
    /// <c>0x78</c> hand-off form with the sender's address in the fee-payer slot.
    /// </summary>
    public byte[] Serialize(EvmSignature signature, EvmAddress sender)
    {
        var signatureItem = Rlp.String(signature.ToRsv());
        return Sponsored
            ? [0x78, .. Rlp.List([.. CommonFields(), Rlp.String([]), Rlp.String(sender.ToBytes()), Rlp.List(), signatureItem])]
            : [0x76, .. Rlp.List([.. CommonFields(), FeeTokenItem(), Rlp.String([]), Rlp.List(), signatureItem])];
    }

    private byte[] FeeTokenItem() => Sponsored || FeeToken is not { } token ? Rlp.String([]) : Rlp.String(token.ToBytes());

    private byte[][] CommonFields() =>
    [
        Rlp.Integer(ChainId),
        Rlp.Integer(MaxPriorityFeePerGas),
        Rlp.Integer(MaxFeePerGas),
        Rlp.Integer(Gas),
        Rlp.List([.. Calls.Select(c => Rlp.List(Rlp.String(c.To.ToBytes()), Rlp.Integer(c.Value), Rlp.String(c.Data)))]),
        Rlp.List(), // access list: never used
        Rlp.Integer(NonceKey),
        Rlp.Integer(Nonce),
        Rlp.Integer(ValidBefore),
        Rlp.Integer(ValidAfter),
    ];
}
