using System.Numerics;
using Mpp.Client.Tempo.Evm;

namespace Mpp.Client.Tempo.Sessions;

/// <summary>
/// The session voucher's EIP-712 hash, specialised (no JSON): domain <c>"TIP20 Channel Reserve"</c> version
/// <c>1</c> with chain id and escrow, type <c>Voucher(bytes32 channelId,uint96 cumulativeAmount)</c>. The
/// general <see cref="Eip712"/> encoder gives the same digest; this one avoids its allocations on the hot path.
/// </summary>
internal sealed class Voucher
{
    private static readonly byte[] TypeHash = Keccak.Hash("Voucher(bytes32 channelId,uint96 cumulativeAmount)");
    private static readonly byte[] DomainTypeHash = Keccak.Hash("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    public static readonly BigInteger MaxAmount = (BigInteger.One << 96) - 1;
    private readonly byte[] _domainSeparator;

    public Voucher(long chainId, EvmAddress escrow)
    {
        _domainSeparator = Keccak.Hash([.. DomainTypeHash, .. Keccak.Hash("TIP20 Channel Reserve"), .. Keccak.Hash("1"), .. Hex.Word(chainId), .. Abi.AddressWord(escrow)]);
    }

    public ReadOnlySpan<byte> DomainSeparator => _domainSeparator;

    public byte[] Digest(ReadOnlySpan<byte> channelId, BigInteger cumulativeAmount)
    {
        if (channelId.Length != 32)
        {
            throw new ArgumentException("A channel id is 32 bytes.", nameof(channelId));
        }

        if (cumulativeAmount.Sign < 0 || cumulativeAmount > MaxAmount)
        {
            throw new ArgumentOutOfRangeException(nameof(cumulativeAmount), "A voucher amount is a uint96.");
        }

        Span<byte> structData = stackalloc byte[96];
        TypeHash.CopyTo(structData);
        channelId.CopyTo(structData[32..]);
        Hex.Word(cumulativeAmount).CopyTo(structData[64..]);
        var structHash = Keccak.Hash(structData);
        return Keccak.Hash([0x19, 0x01, .. _domainSeparator, .. structHash]);
    }
}
