using Org.BouncyCastle.Crypto.Digests;

namespace Mpp.Client.Tempo.Evm;

/// <summary>Keccak-256 (Ethereum's hash: the original Keccak padding, not FIPS-202 SHA3-256).</summary>
internal static class Keccak
{
    public static byte[] Hash(ReadOnlySpan<byte> data)
    {
        var digest = new KeccakDigest(256);
        var input = data.ToArray();
        digest.BlockUpdate(input, 0, input.Length);
        var output = new byte[32];
        digest.DoFinal(output, 0);
        return output;
    }

    public static byte[] Hash(string utf8) => Hash(System.Text.Encoding.UTF8.GetBytes(utf8));
}
