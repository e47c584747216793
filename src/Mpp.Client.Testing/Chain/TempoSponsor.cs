using System.Numerics;
using Mpp.Client.Protocol;
using Mpp.Client.Tempo;
using Mpp.Client.Tempo.Evm;
using Mpp.Client.Tempo.Transactions;
using Nethereum.RLP;

namespace Mpp.Client.Testing.Chain;

/// <summary>
/// What a fee payer accepts to sponsor (the limits an mppx server enforces, protocol.md §3.2.3): gas, fee caps, the
/// expiring nonce, a short validity window, no access list.
/// </summary>
internal sealed record SponsorPolicy(BigInteger MaxGas, BigInteger MaxFeePerGas, BigInteger MaxPriorityFeePerGas, BigInteger MaxTotalFee, long MaxValidityWindowSeconds)
{
    /// <summary>mppx's defaults; the priority-fee cap is 50 gwei on the testnet (chain 42431), 10 gwei elsewhere.</summary>
    public static SponsorPolicy For(long chainId) => new(
        MaxGas: 2_000_000,
        MaxFeePerGas: 100_000_000_000,
        MaxPriorityFeePerGas: chainId == 42431 ? 50_000_000_000 : 10_000_000_000,
        MaxTotalFee: 50_000_000_000_000_000,
        MaxValidityWindowSeconds: 15 * 60);
}

/// <summary>
/// The fee payer's side of a sponsored Tempo charge (protocol.md §3.4.2): it checks the client's <c>0x78</c> envelope
/// against the sponsor policy and the charge request before paying any gas, then co-signs
/// <c>keccak256(0x78 ‖ rlp([chainId … validAfter, feeToken, sender, authorizationList]))</c> and builds the <c>0x76</c>
/// transaction it would broadcast, with the fee token it chose and <c>[yParity, r, s]</c> in the fee-payer slot.
/// </summary>
internal static class TempoSponsor
{
    /// <summary>Why the envelope breaks the sponsor policy (before its calls are looked at), or null.</summary>
    public static string? PolicyProblem(SignedTempoTransaction envelope, long now, DateTimeOffset? challengeExpires, SponsorPolicy policy)
    {
        if (!envelope.Sponsored)
        {
            return "A sponsored payment must come as the 0x78 fee-payer envelope.";
        }

        if (envelope.FeeToken is not null)
        {
            return "A fee payer transaction must not include fee_token (the server sets it).";
        }

        if (envelope.NonceKey != TempoTransaction.ExpiringNonceKey)
        {
            return "A fee payer envelope must use expiring nonce key (2^256 - 1).";
        }

        if (envelope.ValidBefore <= now)
        {
            return "The fee payer envelope has expired (validBefore is not in the future).";
        }

        var latest = now + policy.MaxValidityWindowSeconds;
        if (challengeExpires is { } expires)
        {
            latest = Math.Min(latest, expires.ToUnixTimeSeconds() + 60);
        }

        if (envelope.ValidBefore > latest)
        {
            return $"The validity window exceeds sponsor policy (validBefore {envelope.ValidBefore} > {latest}).";
        }

        if (envelope.Gas > policy.MaxGas)
        {
            return $"Invalid transaction: gas limit exceeds sponsor policy ({envelope.Gas} > {policy.MaxGas}).";
        }

        if (envelope.MaxFeePerGas > policy.MaxFeePerGas)
        {
            return "The max fee per gas exceeds sponsor policy.";
        }

        if (envelope.MaxPriorityFeePerGas > envelope.MaxFeePerGas || envelope.MaxPriorityFeePerGas > policy.MaxPriorityFeePerGas)
        {
            return "The max priority fee per gas exceeds the max fee or sponsor policy.";
        }

        return envelope.Gas * envelope.MaxFeePerGas > policy.MaxTotalFee ? "The total fee budget exceeds sponsor policy." : null;
    }

    /// <summary>
    /// Checks an envelope (policy, then its calls against the charge request) and co-signs it.
    /// </summary>
    /// <returns>The co-signed <c>0x76</c> transaction the sponsor would broadcast.</returns>
    /// <exception cref="FormatException">The envelope is refused; nothing was signed. The message says why.</exception>
    public static async Task<byte[]> CosignAsync(SignedTempoTransaction envelope, IReadOnlyList<ExpectedTransfer> expected, PaymentChallenge? challenge, EvmAddress feeToken, IEvmSigner feePayer, long now, CancellationToken cancellationToken)
    {
        var problem = PolicyProblem(envelope, now, challenge?.Expires, SponsorPolicy.For(envelope.ChainId))
            ?? TempoPaymentRules.CallsProblem(envelope.Calls, expected, challenge);
        if (problem is not null)
        {
            throw new FormatException(problem);
        }

        var feePayerPreimage = (byte[])[0x78, .. RLP.EncodeList([.. envelope.CommonItems, RLP.EncodeElement(feeToken.ToBytes()), RLP.EncodeElement(envelope.Sender.ToBytes()), envelope.AuthorizationListItem])];
        var signature = await feePayer.SignHashAsync(Keccak.Hash(feePayerPreimage), cancellationToken).ConfigureAwait(false);
        var feePayerSignature = RLP.EncodeList(TempoTransaction.Integer(signature.YParity), TempoTransaction.Integer(Unsigned(signature.R)), TempoTransaction.Integer(Unsigned(signature.S)));
        return [0x76, .. RLP.EncodeList([.. envelope.CommonItems, RLP.EncodeElement(feeToken.ToBytes()), feePayerSignature, envelope.AuthorizationListItem, RLP.EncodeElement(envelope.SenderSignature)])];
    }

    private static BigInteger Unsigned(ReadOnlyMemory<byte> bytes) => new(bytes.Span, isUnsigned: true, isBigEndian: true);
}
