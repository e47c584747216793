using System.Text.Json.Nodes;
using System.Numerics;
using Mpp.Client.Tempo.Evm;
using Nethereum.RLP;

namespace Mpp.Client.Tempo.Transactions;

/// <summary>One call of a Tempo transaction.</summary>
internal sealed record TempoCall(EvmAddress To, BigInteger Value, byte[] Data);

/// <summary>
/// A Tempo transaction (type <c>0x76</c>) as mppx 0.11 builds it (protocol.md §3.4), RLP-encoded by Nethereum.RLP
/// (Nethereum has no Tempo transaction type, so the field layout is ours): expiring nonce,
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
        => [0x76, .. RLP.EncodeList([.. CommonFields(), FeeTokenItem(), RLP.EncodeElement(Sponsored ? [0x00] : []), EmptyList])];

    /// <summary>keccak256 of <see cref="EncodeForSigning"/>.</summary>
    public byte[] SigningHash() => Keccak.Hash(EncodeForSigning());

    /// <summary>
    /// The signed transaction as the client sends it: <c>0x76</c> with the signature; when sponsored, the
    /// <c>0x78</c> hand-off form with the sender's address in the fee-payer slot.
    /// </summary>
    public byte[] Serialize(EvmSignature signature, EvmAddress sender)
    {
        var signatureItem = RLP.EncodeElement(signature.ToRsv());
        return Sponsored
            ? [0x78, .. RLP.EncodeList([.. CommonFields(), RLP.EncodeElement([]), RLP.EncodeElement(sender.ToBytes()), EmptyList, signatureItem])]
            : [0x76, .. RLP.EncodeList([.. CommonFields(), FeeTokenItem(), RLP.EncodeElement([]), EmptyList, signatureItem])];
    }

    /// <summary>An RLP integer: big-endian, minimal (zero is the empty string).</summary>
    internal static byte[] Integer(BigInteger value)
        => value.Sign < 0 ? throw new ArgumentOutOfRangeException(nameof(value), "RLP integers are unsigned.") : RLP.EncodeElement(value.ToBytesForRLPEncoding());

    /// <summary>The empty list (access list, authorization list).</summary>
    internal static byte[] EmptyList => RLP.EncodeList([]);

    private byte[] FeeTokenItem() => RLP.EncodeElement(Sponsored || FeeToken is not { } token ? [] : token.ToBytes());

    private byte[][] CommonFields() =>
    [
        Integer(ChainId),
        Integer(MaxPriorityFeePerGas),
        Integer(MaxFeePerGas),
        Integer(Gas),
        RLP.EncodeList([.. Calls.Select(c => RLP.EncodeList(RLP.EncodeElement(c.To.ToBytes()), Integer(c.Value), RLP.EncodeElement(c.Data)))]),
        EmptyList, // access list: never used
        Integer(NonceKey),
        Integer(Nonce),
        Integer(ValidBefore),
        Integer(ValidAfter),
    ];
}
