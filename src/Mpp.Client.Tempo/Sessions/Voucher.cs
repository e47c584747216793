using System.Numerics;
using Mpp.Client.Tempo.Evm;
using Nethereum.ABI.EIP712;

namespace Mpp.Client.Tempo.Sessions;

/// <summary>
/// The session voucher's EIP-712 digest: domain <c>"TIP20 Channel Reserve"</c> version <c>1</c> with chain id and escrow,
/// type <c>Voucher(bytes32 channelId,uint96 cumulativeAmount)</c>. The domain separator comes from Nethereum's EIP-712
/// encoder, once per escrow; the per-voucher struct hash is two keccaks over fixed words, written out here because
/// Nethereum's typed-data path costs several times more per voucher (docs/benchmarks.md). Tests pin both to the same bytes.
/// </summary>
internal sealed class Voucher
{
    public const string PrimaryType = "Voucher";
    public static readonly BigInteger MaxAmount = (BigInteger.One << 96) - 1;
    private static readonly byte[] TypeHash = Keccak.Hash("Voucher(bytes32 channelId,uint96 cumulativeAmount)");
    private readonly byte[] _domainSeparator;

    public Voucher(long chainId, EvmAddress escrow)
    {
        ChainId = chainId;
        Escrow = escrow;
        _domainSeparator = Eip712TypedDataEncoder.Current.HashDomainSeparator(TypedData(new byte[32], 0));
    }

    public long ChainId { get; }

    public EvmAddress Escrow { get; }

    public ReadOnlySpan<byte> DomainSeparator => _domainSeparator;

    public byte[] Digest(ReadOnlySpan<byte> channelId, BigInteger cumulativeAmount)
    {
        Check(channelId, cumulativeAmount);
        Span<byte> structData = stackalloc byte[96];
        structData.Clear();
        TypeHash.CopyTo(structData);
        channelId.CopyTo(structData[32..]);
        cumulativeAmount.TryWriteBytes(structData[(96 - cumulativeAmount.GetByteCount(isUnsigned: true))..], out _, isUnsigned: true, isBigEndian: true);
        var structHash = Keccak.Hash(structData);
        return Keccak.Hash([0x19, 0x01, .. _domainSeparator, .. structHash]);
    }

    /// <summary>The same voucher as Nethereum typed data (what <c>eth_signTypedData_v4</c> would be given).</summary>
    public TypedDataRaw TypedData(ReadOnlySpan<byte> channelId, BigInteger cumulativeAmount)
    {
        Check(channelId, cumulativeAmount);
        return new TypedDataRaw
        {
            Types = new Dictionary<string, MemberDescription[]>(StringComparer.Ordinal)
            {
                ["EIP712Domain"] =
                [
                    new() { Name = "name", Type = "string" },
                    new() { Name = "version", Type = "string" },
                    new() { Name = "chainId", Type = "uint256" },
                    new() { Name = "verifyingContract", Type = "address" },
                ],
                [PrimaryType] = [new() { Name = "channelId", Type = "bytes32" }, new() { Name = "cumulativeAmount", Type = "uint96" }],
            },
            PrimaryType = PrimaryType,
            DomainRawValues =
            [
                new() { TypeName = "string", Value = "TIP20 Channel Reserve" },
                new() { TypeName = "string", Value = "1" },
                new() { TypeName = "uint256", Value = new BigInteger(ChainId) },
                new() { TypeName = "address", Value = Escrow.Lower },
            ],
            Message = [new() { TypeName = "bytes32", Value = channelId.ToArray() }, new() { TypeName = "uint96", Value = cumulativeAmount }],
        };
    }

    private static void Check(ReadOnlySpan<byte> channelId, BigInteger cumulativeAmount)
    {
        if (channelId.Length != 32)
        {
            throw new ArgumentException("A channel id is 32 bytes.", nameof(channelId));
        }

        if (cumulativeAmount.Sign < 0 || cumulativeAmount > MaxAmount)
        {
            throw new ArgumentOutOfRangeException(nameof(cumulativeAmount), "A voucher amount is a uint96.");
        }
    }
}
