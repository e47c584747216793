using System.Numerics;
using Mpp.Client.Tempo;
using Mpp.Client.Tempo.Evm;
using Mpp.Client.Tempo.Transactions;
using Nethereum.RLP;

namespace Mpp.Client.Testing.Chain;

/// <summary>
/// A signed Tempo transaction as a client sends it (protocol.md §3.4): <c>0x76</c>, or the <c>0x78</c> fee-payer hand-off
/// form when the server sponsors fees. Decoding recovers the sender from the secp256k1 signature over the sender's
/// signing preimage, rebuilt from the exact item bytes received.
/// </summary>
internal sealed record SignedTempoTransaction
{
    private SignedTempoTransaction()
    {
    }

    public required byte[] Raw { get; init; }

    /// <summary>Gets keccak256 of the bytes received (what replay protection keys on).</summary>
    public required string Hash { get; init; }

    public required long ChainId { get; init; }

    public required BigInteger MaxPriorityFeePerGas { get; init; }

    public required BigInteger MaxFeePerGas { get; init; }

    public required BigInteger Gas { get; init; }

    public required IReadOnlyList<TempoCall> Calls { get; init; }

    public required BigInteger NonceKey { get; init; }

    public required BigInteger Nonce { get; init; }

    public required long ValidBefore { get; init; }

    public required long ValidAfter { get; init; }

    public EvmAddress? FeeToken { get; init; }

    /// <summary>Gets whether this is the <c>0x78</c> hand-off form (fees sponsored by the server).</summary>
    public bool Sponsored { get; init; }

    /// <summary>Gets the sender's signing preimage (<c>0x76 ‖ rlp(…)</c> without the signature).</summary>
    public required byte[] SenderSigningPreimage { get; init; }

    public required EvmAddress Sender { get; init; }

    /// <summary>Gets the exact encodings of the first ten fields (chain id … validAfter), as a co-signer re-uses them.</summary>
    public required IReadOnlyList<byte[]> CommonItems { get; init; }

    /// <summary>Gets the exact encoding of the authorization list (always empty here).</summary>
    public required byte[] AuthorizationListItem { get; init; }

    /// <summary>Gets the sender's 65-byte signature r ‖ s ‖ v.</summary>
    public required byte[] SenderSignature { get; init; }

    /// <summary><c>keccak256(senderSigningPreimage ‖ sender)</c>: the expiring-nonce hash a channel open binds (protocol.md §3.3.2).</summary>
    public byte[] ExpiringNonceHash() => Keccak.Hash([.. SenderSigningPreimage, .. Sender.ToBytes()]);

    public static bool TryDecode(string? hex, out SignedTempoTransaction? transaction, out string error)
    {
        transaction = null;
        if (!Hex.TryDecode(hex, out var raw) || raw.Length < 2)
        {
            error = "the transaction is not 0x-prefixed hex";
            return false;
        }

        try
        {
            transaction = Decode(raw);
            error = string.Empty;
            return true;
        }
        catch (Exception ex) when (ex is FormatException or ArgumentException or InvalidOperationException or ArithmeticException)
        {
            error = ex.Message;
            return false;
        }
    }

    public static SignedTempoTransaction Decode(byte[] raw)
    {
        var type = raw[0];
        if (type is not (0x76 or 0x78))
        {
            throw new FormatException($"Transaction type 0x{type:x2} is not a Tempo transaction (0x76, or 0x78 when sponsored).");
        }

        var list = RlpReader.Decode(raw.AsSpan(1));
        if (!list.IsList || list.Items.Count != 14)
        {
            throw new FormatException($"A Tempo transaction without a key authorization has 14 fields; this one has {(list.IsList ? list.Items.Count : 0)}.");
        }

        var f = list.Items;
        var calls = new List<TempoCall>();
        if (!f[4].IsList || f[4].Items.Count == 0)
        {
            throw new FormatException("The transaction has no calls.");
        }

        foreach (var call in f[4].Items)
        {
            if (!call.IsList || call.Items.Count != 3 || call.Items[0].Payload.Length != 20)
            {
                throw new FormatException("A call is [to (20 bytes), value, data].");
            }

            calls.Add(new TempoCall(EvmAddress.FromBytes(call.Items[0].Payload), call.Items[1].AsInteger(), call.Items[2].Payload));
        }

        if (!f[5].IsList || f[5].Items.Count != 0)
        {
            throw new FormatException("The access list is not allowed: the test kit (and a sponsor) accepts none.");
        }

        if (!f[12].IsList || f[12].Items.Count != 0)
        {
            throw new FormatException("The authorization list is not allowed: the test kit (and a sponsor) accepts none.");
        }

        var signatureBytes = f[13].Payload;
        if (f[13].IsList || signatureBytes.Length != 65)
        {
            throw new FormatException("The sender signature must be one 65-byte string r ‖ s ‖ v.");
        }

        var signature = EvmSignature.FromRsv(signatureBytes);
        EvmAddress? feeToken = f[10].Payload.Length switch
        {
            0 => null,
            20 => EvmAddress.FromBytes(f[10].Payload),
            _ => throw new FormatException("The fee token slot holds neither nothing nor an address."),
        };

        byte[] preimage;
        EvmAddress? declaredSender = null;
        if (type == 0x76)
        {
            if (f[11].IsList || f[11].Payload.Length != 0)
            {
                throw new FormatException("A 0x76 transaction from a client has an empty fee-payer slot (co-signed transactions are not accepted as credentials).");
            }

            preimage = [0x76, .. RLP.EncodeList([.. f.Take(13).Select(i => i.Encoded)])];
        }
        else
        {
            // A fee token here is not part of what the sender signed (form A leaves it empty); it is read so the sponsor
            // policy can refuse it by name (TempoSponsor).
            if (f[11].IsList || f[11].Payload.Length != 20)
            {
                throw new FormatException("The 0x78 hand-off form has the sender's address in the fee-payer slot.");
            }

            declaredSender = EvmAddress.FromBytes(f[11].Payload);
            preimage = [0x76, .. RLP.EncodeList([.. f.Take(10).Select(i => i.Encoded), RLP.EncodeElement([]), RLP.EncodeElement([0x00]), f[12].Encoded])];
        }

        var sender = signature.RecoverAddress(Keccak.Hash(preimage));
        if (declaredSender is { } declared && declared != sender)
        {
            throw new FormatException("The sender address in the fee-payer slot is not the signer.");
        }

        return new SignedTempoTransaction
        {
            Raw = raw,
            Hash = Hex.Encode(Keccak.Hash(raw)),
            ChainId = f[0].AsInt64(),
            MaxPriorityFeePerGas = f[1].AsInteger(),
            MaxFeePerGas = f[2].AsInteger(),
            Gas = f[3].AsInteger(),
            Calls = calls,
            NonceKey = f[6].AsInteger(),
            Nonce = f[7].AsInteger(),
            ValidBefore = f[8].AsInt64(),
            ValidAfter = f[9].AsInt64(),
            FeeToken = feeToken,
            Sponsored = type == 0x78,
            SenderSigningPreimage = preimage,
            Sender = sender,
            CommonItems = [.. f.Take(10).Select(i => i.Encoded)],
            AuthorizationListItem = f[12].Encoded,
            SenderSignature = signatureBytes,
        };
    }
}
