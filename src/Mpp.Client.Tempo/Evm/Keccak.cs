using Nethereum.Util;

namespace Mpp.Client.Tempo.Evm;

/// <summary>Keccak-256 (Ethereum's hash, not FIPS-202 SHA3-256): Nethereum's <see cref="Sha3Keccack"/>, taking spans.</summary>
internal static class Keccak
{
    public static byte[] Hash(ReadOnlySpan<byte> data) => Sha3Keccack.Current.CalculateHash(data.ToArray());

    public static byte[] Hash(string utf8) => Sha3Keccack.Current.CalculateHashAsBytes(utf8);
}
