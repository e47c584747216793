using System.Numerics;
using Mpp.Client.Tempo;
using Mpp.Client.Tempo.Evm;

namespace Mpp.Client.Testing.Chain;

/// <summary>Reading ABI words out of calldata, strictly (addresses must have clean upper bytes).</summary>
internal static class EvmWords
{
    public static BigInteger Uint(ReadOnlySpan<byte> data, int index) => new(Slice(data, index), isUnsigned: true, isBigEndian: true);

    public static byte[] Bytes32(ReadOnlySpan<byte> data, int index) => Slice(data, index).ToArray();

    public static EvmAddress Address(ReadOnlySpan<byte> data, int index)
    {
        var word = Slice(data, index);
        return word[..12].ContainsAnyExcept((byte)0) ? throw new FormatException($"ABI word {index} is not an address.") : EvmAddress.FromBytes(word[12..]);
    }

    public static string AddressTopic(EvmAddress address) => Hex.Encode(Abi.AddressWord(address));

    public static string WordHex(BigInteger value) => Hex.Encode(Abi.Word(value));

    private static ReadOnlySpan<byte> Slice(ReadOnlySpan<byte> data, int index)
        => data.Length < (index + 1) * 32 ? throw new FormatException($"The calldata is too short for ABI word {index}.") : data.Slice(index * 32, 32);
}
